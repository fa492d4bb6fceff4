import type { KyselyPlugin, PluginTransformQueryArgs, PluginTransformResultArgs, QueryResult, RootOperationNode, UnknownRow } from 'kysely';

/** Counts the statements run through a Kysely instance and the rows they return. */
export class CountingPlugin implements KyselyPlugin {
  statements = 0;
  rows = 0;

  transformQuery({ node }: PluginTransformQueryArgs): RootOperationNode {
    this.statements++;
    return node;
  }

  async transformResult({ result }: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    this.rows += result.rows.length;
    return result;
  }
}
