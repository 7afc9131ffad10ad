using Microsoft.OpenApi;

namespace MlGrid.ControlPlane.Apis;

internal static class RawBodies
{
    /// <summary>
    /// Documents a raw request body of the given types in OpenAPI. The types are not declared with <c>Accepts</c>:
    /// routing would then answer any other type with a bare 415 before the handler could say which types it takes.
    /// </summary>
    public static RouteHandlerBuilder DocumentRawBody(this RouteHandlerBuilder route, params string[] contentTypes) =>
        route.AddOpenApiOperationTransformer((operation, _, _) =>
        {
            operation.RequestBody = new OpenApiRequestBody
            {
                Required = true,
                Content = contentTypes.ToDictionary(
                    type => type,
                    _ => new OpenApiMediaType { Schema = new OpenApiSchema { Type = JsonSchemaType.String, Format = "binary" } }),
            };
            return Task.CompletedTask;
        });
}
