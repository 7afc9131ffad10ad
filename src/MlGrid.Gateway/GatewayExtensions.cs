using MlGrid.Gateway.Auth;
using MlGrid.Gateway.Routing;
using MlGrid.Hosting;
using MlGrid.Hosting.Http;
using Yarp.ReverseProxy.Configuration;

namespace MlGrid.Gateway;

public static class GatewayExtensions
{
    public static WebApplicationBuilder AddGateway(this WebApplicationBuilder builder)
    {
        builder.AddMlGridClusterClient();
        builder.Services.AddOptions<GatewayOptions>()
            .BindConfiguration(GatewayOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddSingleton<RoutingState>();
        builder.Services.AddSingleton(sp => new InferenceMetrics(sp.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), "gateway"));
        builder.Services.AddHostedService<RoutingTableFollower>();
        builder.Services.AddSingleton<ProxyConfigProvider>();
        builder.Services.AddSingleton<IProxyConfigProvider>(sp => sp.GetRequiredService<ProxyConfigProvider>());
        builder.Services.AddReverseProxy();
        return builder;
    }

    public static WebApplication UseGateway(this WebApplication app)
    {
        app.UseMiddleware<ApiKeyAuthentication>();
        app.MapReverseProxy(proxy =>
        {
            proxy.Use(InferenceRouting.RouteAsync);
            proxy.UseSessionAffinity();
            proxy.UseLoadBalancing();
            proxy.UsePassiveHealthChecks();
        });
        return app;
    }
}
