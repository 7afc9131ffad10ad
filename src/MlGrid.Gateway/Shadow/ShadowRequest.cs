using System.Net;
using Microsoft.Net.Http.Headers;

namespace MlGrid.Gateway.Shadow;

/// <summary>
/// A copy of a live request waiting to go to the shadow deployment. It owns <see cref="Message"/> and
/// <see cref="Body"/> (built from the live request before that one ends) until it has been sent or dropped.
/// </summary>
internal sealed class ShadowRequest : IDisposable
{
    /// <summary>Marks the copies, so that workers can tell shadow traffic from live traffic.</summary>
    public const string Header = MlGrid.Hosting.Http.InferenceHttp.ShadowHeader;

    private ShadowRequest(string endpoint, string deployment, string clusterId, PathString path, QueryString query, HttpRequestMessage message, BufferedBody body)
    {
        Endpoint = endpoint;
        Deployment = deployment;
        ClusterId = clusterId;
        Path = path;
        Query = query;
        Message = message;
        Body = body;
    }

    public string Endpoint { get; }

    public string Deployment { get; }

    /// <summary>The YARP cluster of the shadow deployment; a replica is picked when the copy is sent.</summary>
    public string ClusterId { get; }

    public PathString Path { get; }

    public QueryString Query { get; }

    public HttpRequestMessage Message { get; }

    public BufferedBody Body { get; }

    /// <summary>
    /// Copies the live request (method, path, headers, body) for the shadow deployment. Credentials and hop-by-hop
    /// headers stay behind; the copy carries <see cref="Header"/>.
    /// </summary>
    public static ShadowRequest From(HttpContext context, string endpoint, string deployment, string clusterId, BufferedBody body)
    {
        var request = context.Request;
        var message = new HttpRequestMessage(new HttpMethod(request.Method), (Uri?)null)
        {
            Version = HttpVersion.Version11,
            Content = new ReadOnlyMemoryContent(body.Memory),
        };
        foreach (var (name, values) in request.Headers)
        {
            if (IsSkipped(name))
            {
                continue;
            }

            if (!message.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values))
            {
                message.Content.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values);
            }
        }

        message.Headers.TryAddWithoutValidation(Header, "1");
        return new ShadowRequest(endpoint, deployment, clusterId, request.Path, request.QueryString, message, body);
    }

    public void Dispose()
    {
        Message.Dispose();
        Body.Release();
    }

    private static bool IsSkipped(string name) =>
        name.Equals(HeaderNames.Host, StringComparison.OrdinalIgnoreCase)
        || name.Equals(HeaderNames.ContentLength, StringComparison.OrdinalIgnoreCase)
        || name.Equals(HeaderNames.TransferEncoding, StringComparison.OrdinalIgnoreCase)
        || name.Equals(HeaderNames.Connection, StringComparison.OrdinalIgnoreCase)
        || name.Equals(HeaderNames.KeepAlive, StringComparison.OrdinalIgnoreCase)
        || name.Equals(HeaderNames.Upgrade, StringComparison.OrdinalIgnoreCase)
        || name.Equals(HeaderNames.TE, StringComparison.OrdinalIgnoreCase)
        || name.Equals(HeaderNames.ProxyAuthorization, StringComparison.OrdinalIgnoreCase)
        || name.Equals("Proxy-Connection", StringComparison.OrdinalIgnoreCase)
        || name.Equals(HeaderNames.Expect, StringComparison.OrdinalIgnoreCase)
        || name.Equals(HeaderNames.Authorization, StringComparison.OrdinalIgnoreCase)
        || name.Equals(HeaderNames.Cookie, StringComparison.OrdinalIgnoreCase)
        || name.Equals(Header, StringComparison.OrdinalIgnoreCase);
}
