// Starts GraphiQL against this Keygate. The headers editor opens pre-filled: paste a token.
(function () {
  var headers = JSON.stringify({ Authorization: 'Token <paste your token>' }, null, 2);
  var query = '# Paste your token in the Headers tab below, then run this query.\n{\n  user {\n    id\n    email\n    memberships {\n      workspace { slug }\n      roles\n    }\n  }\n}\n';
  var root = ReactDOM.createRoot(document.getElementById('graphiql'));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: GraphiQL.createFetcher({ url: '/graphql' }),
      defaultHeaders: headers,
      defaultQuery: query,
      defaultEditorToolsVisibility: 'headers',
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: false,
    })
  );
})();
