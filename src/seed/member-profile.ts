import { Faker, base, en, type Randomizer } from '@faker-js/faker';
import { defaultAudience, type Audience, type AudienceSettings } from '../domain/audience.js';
import { FIELD_CLASS, type ObjectField, type SensitivityClass } from '../domain/field-catalog.js';
import { addDays, type Instant } from '../domain/time.js';
import type { NewMember, Profile } from '../store/member-repository.js';
import { Prng } from './random.js';

/**
 * One plausible demo member: profile, field audiences and platform settings, drawn from a Faker
 * instance reseeded for each member from (world seed, index). A member is therefore the same
 * whatever the size of the world and whatever was generated before it.
 */

/** Share of members with `share_via_friends` on (PRODUCT.md §3: default off). */
export const SHARE_VIA_FRIENDS_RATE = 1 / 3;
/** Share of members with `platform_enabled` on (default on; a few turned it off). */
export const PLATFORM_ENABLED_RATE = 0.97;
/** Oldest account in the demo world, in days before `now`. */
const OLDEST_ACCOUNT_DAYS = 14 * 365;
const NEWEST_ACCOUNT_DAYS = 30;

/** How often a member moves a field of each class away from the default audience. */
const AUDIENCE_WEIGHTS: Readonly<Record<Exclude<SensitivityClass, 'basic' | 'edge'>, Readonly<Record<Audience, number>>>> = {
  contact: { only_me: 78, friends: 17, public: 5 },
  profile: { friends: 60, public: 25, only_me: 15 },
  sensitive: { only_me: 60, friends: 30, public: 10 },
  activity: { friends: 65, public: 25, only_me: 10 },
};

/** How often a member filled in an optional field at all. */
const FILL_RATE: Partial<Record<ObjectField, number>> = {
  phone: 0.7,
  hometown: 0.85,
  work: 0.8,
  education: 0.75,
  relationship_status: 0.7,
  religion: 0.4,
  political_views: 0.35,
  events: 0.55,
  likes: 0.9,
  photos: 0.85,
};

const RELATIONSHIP_STATUSES = ['single', 'in a relationship', 'engaged', 'married', 'in a civil union', "it's complicated", 'divorced', 'widowed'];
const RELIGIONS = ['Christian', 'Muslim', 'Jewish', 'Hindu', 'Buddhist', 'Sikh', 'Agnostic', 'Atheist', 'Spiritual but not religious'];
const POLITICAL_VIEWS = ['liberal', 'conservative', 'moderate', 'libertarian', 'progressive', 'green', 'socialist', 'apolitical'];
const DEGREES = ['BA', 'BSc', 'BEng', 'MA', 'MSc', 'MBA', 'PhD'];
const EVENT_KINDS = ['meetup', 'concert', 'birthday party', 'workshop', 'charity run', 'book club', 'conference', 'barbecue'];

/**
 * Faker's randomizer on the seed PRNG: Faker's own Mersenne Twister takes over 100 µs to reseed,
 * which would be most of the cost of a member, and a member is reseeded every time.
 */
function prngRandomizer(): Randomizer {
  // Faker calls these unbound, so they close over the state instead of using `this`.
  let prng = Prng.of('faker');
  return {
    next: () => prng.next(),
    seed: (seed) => {
      prng = Prng.of('faker', ...(Array.isArray(seed) ? seed : [seed]));
    },
  };
}

/** A Faker with the English locale, dated relative to `now` so nothing reads the wall clock. */
export function createSeedFaker(now: Instant): Faker {
  const faker = new Faker({ locale: [en, base], randomizer: prngRandomizer() });
  faker.setDefaultRefDate(new Date(now));
  return faker;
}

function isoDate(date: Date): string {
  return date.toISOString().slice(0, 10);
}

function place(faker: Faker): string {
  return `${faker.location.city()}, ${faker.location.country()}`;
}

function like(faker: Faker): string {
  return faker.helpers.arrayElement([
    () => faker.music.artist(),
    () => faker.book.title(),
    () => faker.food.dish(),
    () => faker.company.name(),
    () => `${faker.location.city()} ${faker.animal.type()}s`,
    () => faker.music.genre(),
  ])();
}

export interface MemberOptions {
  readonly seed: number;
  readonly index: number;
  readonly id: string;
  readonly now: Instant;
  /** The showcase member of a demo: platform always on, so its own token works. */
  readonly showcase?: boolean;
}

/** The member at `index`; `faker` is reseeded here, so it can be shared across calls. */
export function generateMember(faker: Faker, options: MemberOptions): NewMember {
  const { seed, index, id, now } = options;
  faker.seed([seed, index]);

  // Settings first, so that they stay put if the profile below ever draws differently.
  const platformEnabled = options.showcase === true || faker.datatype.boolean({ probability: PLATFORM_ENABLED_RATE });
  const shareViaFriends = faker.datatype.boolean({ probability: SHARE_VIA_FRIENDS_RATE });
  const createdAt = faker.date.between({ from: addDays(now, -OLDEST_ACCOUNT_DAYS), to: addDays(now, -NEWEST_ACCOUNT_DAYS) }).getTime();

  const sex = faker.person.sexType();
  const firstName = faker.person.firstName(sex);
  const lastName = faker.person.lastName();
  const filled = (field: ObjectField): boolean => faker.datatype.boolean({ probability: FILL_RATE[field] ?? 1 });

  const profile: Partial<Record<ObjectField, string | string[]>> = {
    name: `${firstName} ${lastName}`,
    picture: `https://pictures.example/${id}.jpg`,
    email: faker.internet.exampleEmail({ firstName, lastName }).toLowerCase(),
    birthday: isoDate(faker.date.birthdate({ mode: 'age', min: 18, max: 80 })),
    gender: faker.helpers.weightedArrayElement([
      { value: sex, weight: 95 },
      { value: 'non-binary', weight: 5 },
    ]),
    location: place(faker),
  };
  if (filled('phone')) profile.phone = faker.phone.number({ style: 'international' });
  if (filled('hometown')) profile.hometown = place(faker);
  if (filled('work')) {
    profile.work = faker.helpers.multiple(() => `${faker.person.jobTitle()} at ${faker.company.name()}`, { count: { min: 1, max: 3 } });
  }
  if (filled('education')) {
    profile.education = faker.helpers.multiple(
      () => `${faker.helpers.arrayElement(DEGREES)} ${faker.person.jobArea()}, University of ${faker.location.city()}`,
      { count: { min: 1, max: 2 } },
    );
  }
  if (filled('relationship_status')) profile.relationship_status = faker.helpers.arrayElement(RELATIONSHIP_STATUSES);
  if (filled('religion')) profile.religion = faker.helpers.arrayElement(RELIGIONS);
  if (filled('political_views')) profile.political_views = faker.helpers.arrayElement(POLITICAL_VIEWS);
  if (filled('events')) {
    profile.events = faker.helpers.multiple(
      () => `${faker.helpers.arrayElement(EVENT_KINDS)} in ${faker.location.city()} on ${isoDate(faker.date.soon({ days: 90 }))}`,
      { count: { min: 1, max: 4 } },
    );
  }
  if (filled('likes')) profile.likes = faker.helpers.multiple(() => like(faker), { count: { min: 1, max: 12 } });
  if (filled('photos')) {
    const count = faker.number.int({ min: 1, max: 8 });
    profile.photos = Array.from({ length: count }, (_, n) => `https://photos.example/${id}/${n + 1}.jpg`);
  }

  const audiences: AudienceSettings = {};
  for (const field of Object.keys(profile) as ObjectField[]) {
    const fieldClass = FIELD_CLASS[field];
    if (fieldClass === 'basic' || fieldClass === 'edge') continue;
    const weights = AUDIENCE_WEIGHTS[fieldClass];
    const audience = faker.helpers.weightedArrayElement(
      (Object.keys(weights) as Audience[]).map((value) => ({ value, weight: weights[value] })),
    );
    // Only what differs from the catalog's default is stored (schema: field_audiences).
    if (audience !== defaultAudience(field)) audiences[field] = audience;
  }

  return {
    id,
    platformEnabled,
    shareViaFriends,
    createdAt,
    profile: profile as Profile,
    audiences,
  };
}
