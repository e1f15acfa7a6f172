// PostGraphile v5 over the benchmark's database, as a peer of the service's GraphQL calendar
// (python -m bench --peer postgraphile). Production settings: no GraphiQL, no explain, no watch
// mode, no websockets, no CORS; no auth (no JWT, no pgSettings). Default (v5 amber) inflection:
// `allBookings`, `eventByEventId`, orderBy `START_AT_ASC` / `ID_ASC`.
import { makePgService } from "postgraphile/adaptors/pg";
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";
import { PostGraphileConnectionFilterPreset } from "postgraphile-plugin-connection-filter";

const connectionString = process.env.DATABASE_URL;
if (!connectionString) {
  throw new Error("DATABASE_URL is not set");
}

/** @type {GraphileConfig.Preset} */
const preset = {
  extends: [PostGraphileAmberPreset, PostGraphileConnectionFilterPreset],
  // v5 leaves columns in no index out of `filter` and `orderBy`; the calendar filters on
  // booking.dismissed_at (IS NULL), which no index holds (nor does the service need one: the
  // (user_id, start_at) index finds the rows, as for the service's statement).
  disablePlugins: ["PgIndexBehaviorsPlugin"],
  pgServices: [
    makePgService({
      connectionString,
      schemas: ["public"],
      // connections per process, as the service's and the baseline's pools (LEKO_DATABASE_URL's
      // maxsize)
      poolConfig: { max: Number(process.env.PG_POOL_MAX || 10) },
    }),
  ],
  grafast: { explain: false },
  grafserv: {
    graphqlPath: "/graphql",
    graphiql: false,
    graphiqlOnGraphQLGET: false,
    graphqlOverGET: false,
    watch: false,
    websockets: false,
  },
};

export default preset;
