using Microsoft.Extensions.Options;
using MlGrid.Contracts;
using MlGrid.Hosting;

namespace MlGrid.ControlPlane.Apis;

/// <summary>An ONNX file stored under its hash, with the signature a worker read from it.</summary>
public sealed record StoredModelFile(string Sha256, long SizeBytes, ModelSignature Signature);

/// <summary>Why a model file was not stored: the status an upload answers with, and a message saying what to do.</summary>
public sealed record ModelFileProblem(int Status, string Message);

/// <summary>
/// Turns a stream of ONNX bytes into a verified model file: spooled to disk while it is hashed, stored once under its
/// SHA-256, then loaded by ONNX Runtime on a worker to read its signature. Used by <c>/api/v1/models</c> uploads and by
/// MLflow model versions whose artifacts hold an ONNX file, so both give the same kind of version.
/// </summary>
public sealed class ModelFiles(
    ArtifactStore artifacts,
    IGrainFactory grains,
    IOptions<ModelUploadOptions> options,
    ILogger<ModelFiles> logger)
{
    public long MaxBytes => options.Value.MaxModelBytes;

    /// <summary>
    /// Stores and verifies <paramref name="content"/>. A file that is empty, too large or not loadable is refused
    /// (<see cref="ModelFileProblem"/>) and leaves nothing behind; a worker that cannot be reached is a 503 problem.
    /// </summary>
    public async Task<(StoredModelFile? File, ModelFileProblem? Problem)> StoreAsync(Stream content, string description, CancellationToken cancellationToken)
    {
        var limit = MaxBytes;
        Directory.CreateDirectory(options.Value.SpoolDirectory);
        var spool = Path.Combine(options.Value.SpoolDirectory, Guid.NewGuid().ToString("N") + ".onnx");
        try
        {
            var (sha256, size) = await UploadSpool.SpoolAsync(content, spool, limit, null, cancellationToken);
            if (size == 0)
            {
                return (null, new ModelFileProblem(StatusCodes.Status400BadRequest, $"{description} is empty; send the ONNX file's bytes."));
            }

            if (size > limit)
            {
                return (null, new ModelFileProblem(StatusCodes.Status413PayloadTooLarge, $"Model files are limited to {limit} bytes."));
            }

            var created = await artifacts.PutIfAbsentAsync(sha256, spool, cancellationToken);
            try
            {
                var signature = await grains.GetGrain<IModelInspectorGrain>(Random.Shared.NextInt64()).Inspect(sha256);
                return (new StoredModelFile(sha256, size, signature), null);
            }
            catch (RequestException refused)
            {
                // Bytes that do not load are never referenced by a version: remove them if this call stored them.
                if (created)
                {
                    await artifacts.DeleteAsync(sha256, CancellationToken.None);
                }

                return (null, new ModelFileProblem(StatusCodes.Status400BadRequest, refused.Message));
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // A transient failure keeps the stored bytes: a concurrent upload of the same file may already use them.
                logger.LogError(ex, "No worker could inspect model file {Sha256} ({Description})", sha256, description);
                return (null, new ModelFileProblem(StatusCodes.Status503ServiceUnavailable,
                    "No worker could read the model's signature; check that a worker silo is running and try again."));
            }
        }
        finally
        {
            File.Delete(spool);
        }
    }
}
