// The GraphiQL page of /graphql (leko_bookings/ui.py): GraphiQL 3 on React 18, loaded from
// /static/vendor (scripts/vendor-assets). The page's #graphiql element carries the settings.
(function () {
  "use strict";
  var root = document.getElementById("graphiql");
  var settings = root.dataset;
  ReactDOM.createRoot(root).render(
    React.createElement(GraphiQL, {
      fetcher: GraphiQL.createFetcher({ url: settings.endpoint }),
      defaultQuery: settings.query,
      defaultHeaders: settings.headers,
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: true,
      defaultEditorToolsVisibility: "headers",
    }),
  );
})();
