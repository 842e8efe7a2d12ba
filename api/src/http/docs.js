// Swagger UI over the engine's own OpenAPI document. Everything it loads comes from this origin:
// no online validator badge, no CDN (ADR 0004).
window.ui = SwaggerUIBundle({
  url: "/api/v1/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: "none",
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
});
