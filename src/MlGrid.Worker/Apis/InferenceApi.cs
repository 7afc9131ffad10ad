using System.Buffers;
using System.Diagnostics;
using MlGrid.Inference;
using MlGrid.Hosting.Http;
using MlGrid.Worker.Grains;

namespace MlGrid.Worker.Apis;

/// <summary>
/// The worker's internal inference surface. Gateways reach a replica at <c>{worker}/replicas/{replicaId}</c>
/// followed by the Open Inference Protocol path the client used.
/// </summary>
public static class InferenceApi
{
    /// <summary>The largest request body accepted, in bytes.</summary>
    public const long MaxBodyBytes = 64 * 1024 * 1024;

    public static IEndpointRouteBuilder MapInferenceApi(this IEndpointRouteBuilder app)
    {
        var replicas = app.MapGroup("/replicas/{replicaId}/v2/models/{endpoint}");
        replicas.MapPost("/infer", InferAsync);
        replicas.MapPost("/versions/{deployment}/infer", InferAsync);
        return app;
    }

    public static async Task InferAsync(HttpContext context, string replicaId, ModelHost host, InferenceMetrics metrics, ILogger<ModelHost> logger)
    {
        var started = Stopwatch.GetTimestamp();
        var replica = host.Find(replicaId);
        var endpoint = replica?.Assignment.Endpoint ?? "unknown";
        var deployment = replica?.Assignment.Deployment ?? "unknown";
        var status = StatusCodes.Status200OK;
        try
        {
            // The lease keeps the session alive until this request is done, even if the replica is removed meanwhile.
            using var lease = replica?.TryLease();
            if (replica is null || lease is null)
            {
                status = await WriteErrorAsync(context, StatusCodes.Status503ServiceUnavailable, $"Replica '{replicaId}' is not ready on this worker.");
                return;
            }

            var model = lease.Model;

            context.Response.Headers[InferenceHttp.DeploymentHeader] = deployment;
            context.Response.Headers[InferenceHttp.ModelVersionHeader] = replica.Assignment.ModelVersion.ToString(System.Globalization.CultureInfo.InvariantCulture);
            context.Response.Headers[InferenceHttp.ModelHeader] = replica.Assignment.Model;

            using var body = await ReadBodyAsync(context);
            if (body is null)
            {
                status = await WriteErrorAsync(context, StatusCodes.Status413PayloadTooLarge, $"The request body is larger than {MaxBodyBytes} bytes.");
                return;
            }

            InferenceResponseBody payload;
            try
            {
                // Plain JSON, or a JSON header followed by binary tensor data when the client says how long the header is.
                var request = OipBinary.ParseRequest(
                    body.Memory, context.Request.Headers[OipBinary.HeaderContentLength], context.Request.ContentType);
                SignatureValidator.Validate(request, model.Inputs, model.Outputs);
                var outputs = await replica.RunAsync(lease, request.Inputs, request.Outputs, context.RequestAborted);
                payload = OipBinary.SerializeResponse(
                    new InferenceResponse(
                        endpoint,
                        replica.Assignment.ModelVersion.ToString(System.Globalization.CultureInfo.InvariantCulture),
                        request.Id,
                        outputs),
                    request.IsBinaryOutput);
            }
            catch (InferenceInputException ex)
            {
                status = await WriteErrorAsync(context, StatusCodes.Status400BadRequest, ex.Message);
                return;
            }

            if (context.RequestAborted.IsCancellationRequested)
            {
                // The run was claimed before the client left, so it finished; nobody is there to read its outputs.
                status = StatusCodes.Status499ClientClosedRequest;
                return;
            }

            if (payload.JsonHeaderLength is { } headerLength)
            {
                context.Response.Headers[OipBinary.HeaderContentLength] = headerLength.ToString(System.Globalization.CultureInfo.InvariantCulture);
            }

            context.Response.ContentType = payload.ContentType;
            context.Response.ContentLength = payload.Content.Length;
            await context.Response.Body.WriteAsync(payload.Content);
        }
        catch (Exception ex) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client left: cancelled while its request was read or queued for a batch, or a write to its closed
            // connection failed. Not a success, not the worker's failure.
            logger.LogDebug(ex, "The client left while replica {Replica} served its request", replicaId);
            status = StatusCodes.Status499ClientClosedRequest;
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            status = await WriteErrorAsync(context, StatusCodes.Status413PayloadTooLarge, $"The request body is larger than {MaxBodyBytes} bytes.");
        }
        catch (Exception ex)
        {
            logger.LogError(ex, "Inference failed on replica {Replica}", replicaId);
            status = StatusCodes.Status500InternalServerError;
            if (!context.Response.HasStarted)
            {
                status = await WriteErrorAsync(context, status, "The worker failed to run the model; see its logs.");
            }
        }
        finally
        {
            metrics.Record(endpoint, deployment, status, Stopwatch.GetElapsedTime(started), context.Request.Headers.ContainsKey(InferenceHttp.ShadowHeader));
        }
    }

    /// <summary>Writes an error response and returns its status; writes nothing to a client that has left, and returns 499.</summary>
    private static async Task<int> WriteErrorAsync(HttpContext context, int status, string message)
    {
        if (context.RequestAborted.IsCancellationRequested)
        {
            return StatusCodes.Status499ClientClosedRequest;
        }

        await InferenceHttp.WriteErrorAsync(context, status, message);
        return status;
    }

    /// <summary>
    /// The whole request body in a buffer rented from the shared pool (return it with <see cref="PooledBody.Dispose"/>),
    /// or null when it is larger than <see cref="MaxBodyBytes"/>. Large bodies (a CNN input is megabytes) would
    /// otherwise be fresh large-object-heap arrays on every request.
    /// </summary>
    private static async Task<PooledBody?> ReadBodyAsync(HttpContext context)
    {
        if (context.Request.ContentLength > MaxBodyBytes)
        {
            return null;
        }

        if (context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = MaxBodyBytes;
        }

        // A declared length alone reserves no more than 1 MB; the buffer grows as bytes arrive.
        var body = new PooledBody((int)Math.Clamp(context.Request.ContentLength + 1 ?? 4096, 256, 1024 * 1024));
        try
        {
            int read;
            while ((read = await context.Request.Body.ReadAsync(body.FreeSpace(), context.RequestAborted)) > 0)
            {
                if (!body.Advance(read, MaxBodyBytes))
                {
                    body.Dispose();
                    return null;
                }
            }

            return body;
        }
        catch
        {
            body.Dispose();
            throw;
        }
    }

    private sealed class PooledBody(int initialSize) : IDisposable
    {
        private byte[]? _buffer = ArrayPool<byte>.Shared.Rent(initialSize);
        private int _length;

        public ReadOnlyMemory<byte> Memory => _buffer.AsMemory(0, _length);

        /// <summary>Free room after the bytes read so far, doubling the buffer when it is full.</summary>
        public Memory<byte> FreeSpace()
        {
            var buffer = _buffer!;
            if (_length == buffer.Length)
            {
                var larger = ArrayPool<byte>.Shared.Rent((int)Math.Min((long)buffer.Length * 2, MaxBodyBytes + 1));
                buffer.AsSpan(0, _length).CopyTo(larger);
                ArrayPool<byte>.Shared.Return(buffer);
                _buffer = buffer = larger;
            }

            return buffer.AsMemory(_length);
        }

        /// <summary>Counts bytes just read; false once the body is longer than <paramref name="limit"/>.</summary>
        public bool Advance(int count, long limit)
        {
            _length += count;
            return _length <= limit;
        }

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _buffer, null) is { } buffer)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }
}
