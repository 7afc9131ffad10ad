using MlGrid.Gateway.Auth;
using MlGrid.Gateway.Routing;
using MlGrid.Gateway.Shadow;
using MlGrid.Gateway.Stats;
using MlGrid.Hosting;
using MlGrid.Hosting.Http;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Health;

namespace MlGrid.Gateway;

public static class GatewayExtensions
{
    /// <summary>The gateway as deployed: the proxy pipeline fed by the routing table it follows through the Orleans cluster.</summary>
    public static WebApplicationBuilder AddGateway(this WebApplicationBuilder builder)
    {
        builder.AddMlGridClusterClient();
        builder.Services.AddHostedService<RoutingTableFollower>();
        builder.Services.AddGatewayProxy();
        return builder;
    }

    /// <summary>
    /// The proxy pipeline and its services without the cluster client: whoever registers this feeds
    /// <see cref="RoutingState"/> (the routing-table follower in production, tests directly).
    /// </summary>
    public static IServiceCollection AddGatewayProxy(this IServiceCollection services)
    {
        services.AddOptions<GatewayOptions>()
            .BindConfiguration(GatewayOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddOptions<ShadowOptions>()
            .BindConfiguration(ShadowOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton<RoutingState>();
        services.AddSingleton(sp => new InferenceMetrics(sp.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), "gateway"));
        services.AddSingleton<GatewayMetrics>();
        services.AddSingleton<GatewayStats>();
        services.AddSingleton<ShadowSender>();
        services.AddHostedService(sp => sp.GetRequiredService<ShadowSender>());
        services.AddSingleton<DeploymentTargets>();
        services.AddSingleton<InferenceRouting>();
        services.AddSingleton<ProxyConfigProvider>();
        services.AddSingleton<IProxyConfigProvider>(sp => sp.GetRequiredService<ProxyConfigProvider>());
        services.AddSingleton<IPassiveHealthCheckPolicy, ReplicaHealthPolicy>();
        services.AddReverseProxy();
        return services;
    }

    public static WebApplication UseGateway(this WebApplication app)
    {
        var routing = app.Services.GetRequiredService<InferenceRouting>();
        app.UseMiddleware<ApiKeyAuthentication>();
        app.MapReverseProxy(proxy =>
        {
            proxy.Use(routing.RouteAsync);
            proxy.UseSessionAffinity();
            proxy.UseLoadBalancing();
            proxy.UsePassiveHealthChecks();
        });
        return app;
    }
}
