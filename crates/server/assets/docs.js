// Starts Swagger UI on /openapi.json. "Authorize" takes a bearer token, or a
// client id and secret that it exchanges at /oauth2/token; it is kept across
// reloads so "Try it out" keeps working while you read.
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  presets: [SwaggerUIBundle.presets.apis],
  deepLinking: true,
  persistAuthorization: true,
  displayOperationId: true,
  displayRequestDuration: true,
  filter: true,
  docExpansion: "list",
  defaultModelsExpandDepth: 0,
  defaultModelExpandDepth: 2,
  showExtensions: false,
  // Nothing leaves this server: no online validator badge.
  validatorUrl: null,
});
