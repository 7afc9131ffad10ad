using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using MlGrid.Gateway.Http;
using MlGrid.Gateway.Routing;
using MlGrid.Governance;
using Yarp.ReverseProxy.Transforms;
using Yarp.ReverseProxy.Transforms.Builder;

namespace MlGrid.Gateway.Auth;

/// <summary>
/// What the proxy tells backends about the caller. Callers' credentials stop at the gateway: no backend gets the
/// <c>Authorization</c> header. The control plane gets instead the internal key and the authenticated principal,
/// which it trusts only alongside that key; replicas get neither, as they serve whoever the gateway lets through.
/// </summary>
internal sealed class IdentityForwarding(IOptions<GovernanceOptions> options) : ITransformProvider
{
    private readonly string _internalKey = options.Value.InternalKey;

    public void ValidateRoute(TransformRouteValidationContext context)
    {
    }

    public void ValidateCluster(TransformClusterValidationContext context)
    {
    }

    public void Apply(TransformBuilderContext context)
    {
        var toControlPlane = context.Route.RouteId == ProxyConfigProvider.ControlPlaneRoute;
        context.AddRequestTransform(transform =>
        {
            // Identity headers a caller sent were removed by AccessControl before the proxy copied the request.
            RequestTransform.RemoveHeader(transform, HeaderNames.Authorization);

            if (toControlPlane && transform.HttpContext.GetGatewayCall()?.Principal is { } principal)
            {
                RequestTransform.AddHeader(transform, ForwardedIdentity.InternalKeyHeader, _internalKey);
                foreach (var (name, value) in ForwardedIdentity.Encode(principal))
                {
                    RequestTransform.AddHeader(transform, name, value);
                }
            }

            return ValueTask.CompletedTask;
        });
    }
}
