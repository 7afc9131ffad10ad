using System.Globalization;
using System.Net;
using System.Net.Http.Headers;

namespace MlGrid.Bench.Serving;

/// <summary>
/// The load generator's HTTP side: one HttpClient over a SocketsHttpHandler sized for the highest concurrency, with
/// connections that live for the whole run, no Expect: 100-continue, no proxy, cookies or trace headers.
/// </summary>
internal sealed class InferenceClient : IDisposable
{
    private readonly HttpClient _client;
    private readonly AuthenticationHeaderValue _authorization;

    public InferenceClient(string adminKey, int maxConcurrency)
    {
        var handler = new SocketsHttpHandler
        {
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(10),
            MaxConnectionsPerServer = Math.Max(maxConcurrency, 1) * 2,
            UseProxy = false,
            UseCookies = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            ActivityHeadersPropagator = null,
        };
        _client = new HttpClient(handler, disposeHandler: true) { Timeout = TimeSpan.FromSeconds(120) };
        _client.DefaultRequestHeaders.ExpectContinue = false;
        _authorization = new AuthenticationHeaderValue("Bearer", adminKey);
    }

    /// <summary>One call, answered in full; for the correctness checks before a measurement.</summary>
    public async Task<(HttpStatusCode Status, byte[] Body, int? HeaderLength)> SendAsync(Uri uri, InferBody body, CancellationToken cancellationToken)
    {
        using var request = NewRequest(uri, body);
        using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken);
        var bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        return (response.StatusCode, bytes, response.IsSuccessStatusCode ? OipBodies.ResponseHeaderLength(response) : null);
    }

    /// <summary>
    /// A call for one loop of <see cref="ClosedLoop"/>: sends the pre-serialized body, reads the whole answer into the
    /// loop's own buffer, and counts anything but 200 with a non-empty body as an error.
    /// </summary>
    public Func<CancellationToken, ValueTask<CallOutcome>> CreateLoop(Uri uri, InferBody body)
    {
        var buffer = new byte[64 * 1024];
        return async cancellationToken =>
        {
            using var request = NewRequest(uri, body);
            using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
            var total = 0;
            var first = 0;
            int read;
            while ((read = await stream.ReadAsync(buffer, cancellationToken)) > 0)
            {
                if (total == 0)
                {
                    first = read;
                }

                total += read;
            }

            if (response.StatusCode == HttpStatusCode.OK && total > 0)
            {
                return CallOutcome.Success;
            }

            var text = System.Text.Encoding.UTF8.GetString(buffer, 0, Math.Min(first, 300));
            return CallOutcome.Failure($"{(int)response.StatusCode} {response.ReasonPhrase}: {text}");
        };
    }

    public void Dispose() => _client.Dispose();

    private HttpRequestMessage NewRequest(Uri uri, InferBody body)
    {
        // A new content object per request over the same bytes: disposing a request disposes its content.
        var content = new ByteArrayContent(body.Bytes);
        content.Headers.TryAddWithoutValidation("Content-Type", body.ContentType);
        var request = new HttpRequestMessage(HttpMethod.Post, uri)
        {
            Content = content,
            Version = HttpVersion.Version11,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        request.Headers.Authorization = _authorization;
        if (body.HeaderLength is { } length)
        {
            request.Headers.TryAddWithoutValidation(OipBodies.HeaderLengthHeader, length.ToString(CultureInfo.InvariantCulture));
        }

        return request;
    }
}
