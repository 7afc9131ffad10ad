using System.Buffers;
using System.Diagnostics;
using MlGrid.Governance;

namespace MlGrid.Gateway.Http;

/// <summary>
/// Gives every call a request id: the caller's <c>x-request-id</c> when it is a sane token, else the trace id. The id
/// is echoed on the response and written back into the request headers, so the proxy forwards it (to the control
/// plane, replicas and shadow copies) without each of them having to ask for it.
/// </summary>
internal sealed class RequestIds(RequestDelegate next)
{
    public const int MaxLength = 64;

    private static readonly SearchValues<char> Allowed =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-");

    private static readonly Func<object, Task> Echo = state =>
    {
        var context = (HttpContext)state;
        // Set when the response starts, after the proxy copied the backend's headers: one value, never two.
        context.Response.Headers[ForwardedIdentity.RequestIdHeader] = context.GetGatewayCall()!.RequestId;
        return Task.CompletedTask;
    };

    public Task InvokeAsync(HttpContext context)
    {
        var presented = context.Request.Headers[ForwardedIdentity.RequestIdHeader];
        var id = presented.Count == 1 && IsValid(presented[0])
            ? presented[0]!
            : Activity.Current?.TraceId.ToHexString() ?? context.TraceIdentifier.Replace(':', '.');
        context.Request.Headers[ForwardedIdentity.RequestIdHeader] = id;
        // A caller's own id differs from the trace id: tagged, a trace can be found from an audit entry.
        Activity.Current?.SetTag("mlgrid.request_id", id);
        context.Features.Set(new GatewayCall(id));
        context.Response.OnStarting(Echo, context);
        return next(context);
    }

    /// <summary>1 to 64 characters of <c>[A-Za-z0-9._-]</c>: anything else could smuggle text into logs and the audit trail.</summary>
    public static bool IsValid(string? id) =>
        id is { Length: > 0 and <= MaxLength } && !id.AsSpan().ContainsAnyExcept(Allowed);
}
