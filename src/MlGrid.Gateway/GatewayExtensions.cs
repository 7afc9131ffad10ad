using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.DependencyInjection.Extensions;
using MlGrid.Gateway.Auth;
using MlGrid.Gateway.Http;
using MlGrid.Gateway.Limits;
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
    /// <summary>
    /// The gateway as deployed: the proxy pipeline fed by the routing table and the key ring it follows through the
    /// Orleans cluster, its refusals sent to the audit log grain.
    /// </summary>
    public static WebApplicationBuilder AddGateway(this WebApplicationBuilder builder)
    {
        builder.AddMlGridClusterClient();
        builder.Services.AddHostedService<RoutingTableFollower>();
        builder.Services.AddHostedService<KeyRingFollower>();
        builder.Services.AddSingleton<IAuditSink, GrainAuditSink>();
        builder.Services.AddGatewayProxy();
        return builder;
    }

    /// <summary>
    /// The proxy pipeline and its services without the cluster client: whoever registers this feeds
    /// <see cref="RoutingState"/> and <see cref="KeyRingState"/> (the followers in production, tests directly) and
    /// registers the <see cref="IAuditSink"/> refusals go to.
    /// </summary>
    public static IServiceCollection AddGatewayProxy(this IServiceCollection services)
    {
        services.AddOptions<GatewayOptions>()
            .BindConfiguration(GatewayOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddOptions<GovernanceOptions>()
            .BindConfiguration(GovernanceOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddOptions<ShadowOptions>()
            .BindConfiguration(ShadowOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddOptions<RateLimitOptions>()
            .BindConfiguration(RateLimitOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddOptions<BodyLimitOptions>()
            .BindConfiguration(BodyLimitOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);

        services.AddSingleton<KeyRingState>();
        services.AddSingleton<AuditForwarder>();
        services.AddHostedService(sp => sp.GetRequiredService<AuditForwarder>());
        services.AddSingleton<Refusals>();
        services.AddEntraIdAuthentication();
        services.AddSingleton<BodyLimits>();
        services.AddSingleton<RequestRateLimits>();
        services.AddRateLimiter(_ => { });
        services.AddOptions<RateLimiterOptions>().Configure<RequestRateLimits>((options, limits) =>
        {
            options.GlobalLimiter = limits.Limiter;
            options.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            options.OnRejected = limits.OnRejectedAsync;
        });

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
        services.AddReverseProxy().AddTransforms<IdentityForwarding>();
        return services;
    }

    /// <summary>
    /// Request id, then who is calling and whether they may, then how often and how much: each step can rely on the
    /// ones before it, and every refusal comes before the proxy touches the request.
    /// </summary>
    public static WebApplication UseGateway(this WebApplication app)
    {
        var routing = app.Services.GetRequiredService<InferenceRouting>();
        var limits = app.Services.GetRequiredService<BodyLimits>();
        app.UseMiddleware<RequestIds>();
        app.UseMiddleware<AccessControl>();
        app.UseRateLimiter();
        app.Use(limits.InvokeAsync);
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
