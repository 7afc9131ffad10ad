using MlGrid.Contracts;
using MlGrid.Hosting;
using MlGrid.Tracking;

namespace MlGrid.ControlPlane.Apis.Mlflow;

/// <summary>
/// Reads the source of a new MLflow model version. A source in MlGrid's artifact store (<c>runs:/{run}/{path}</c> or
/// <c>mlflow-artifacts:/{path}</c>) is searched for an ONNX file: the file itself, or the one <c>.onnx</c> file under the
/// directory (<c>model.onnx</c> at its top when there are several, as MLflow's ONNX flavour writes it). That file is
/// stored and verified as an <c>/api/v1/models</c> upload is, so the version can be deployed. Any other source is
/// registered as MLflow would, as a reference, with a status message saying why it cannot be served.
/// </summary>
internal sealed class MlflowModelSources(IGrainFactory grains, MlflowArtifactStore artifacts, ModelFiles files, ILogger<MlflowModelSources> logger)
{
    private const string RunsScheme = "runs:";
    private const string OnnxExtension = ".onnx";
    private const string FlavourFileName = "model.onnx";

    /// <summary>A version to add: the ONNX file's hash and signature when one was found, and the source and run it came from.</summary>
    public async Task<NewModelVersion> ResolveAsync(string source, string? runId, CancellationToken cancellationToken)
    {
        string? path;
        var runChecked = false;
        if (source.StartsWith(RunsScheme, StringComparison.OrdinalIgnoreCase))
        {
            (path, var sourceRun) = await RunArtifactPathAsync(source);
            if (runId is not null && runId != sourceRun)
            {
                throw new TrackingException($"The source names run {sourceRun} but 'run_id' is {runId}; leave 'run_id' out or make them agree.");
            }

            runId = sourceRun;
            runChecked = true;
        }
        else if (source.StartsWith(MlflowArtifactPath.UriScheme, StringComparison.OrdinalIgnoreCase))
        {
            path = StorePath(source);
        }
        else
        {
            path = null;
        }

        if (runId is not null && !runChecked && await grains.GetGrain<IRunGrain>(runId).Get() is null)
        {
            throw RequestException.NotFound($"Run with id={runId} not found");
        }

        if (path is null)
        {
            return NotServable(source, runId,
                $"MlGrid reads model files only from runs:/ and mlflow-artifacts:/ sources; '{source}' is kept as a reference and cannot be deployed.");
        }

        var (file, opened, why) = await FindOnnxAsync(path, cancellationToken);
        if (file is null)
        {
            return NotServable(source, runId, why!);
        }

        var content = opened ?? await artifacts.OpenReadAsync(file, cancellationToken);
        if (content is null)
        {
            return NotServable(source, runId, $"'{file}' disappeared from the artifact store while it was being registered.");
        }

        await using (content.Content)
        {
            var (stored, problem) = await files.StoreAsync(content.Content, $"'{file}'", cancellationToken);
            if (problem is { Status: StatusCodes.Status503ServiceUnavailable })
            {
                throw new RequestException(RequestErrorKind.Unavailable, problem.Message);
            }

            if (stored is null)
            {
                logger.LogInformation("Model source {Source}: {File} is not a model MlGrid can serve: {Problem}", source, file, problem!.Message);
                return NotServable(source, runId, $"'{file}' is not a model MlGrid can serve: {problem.Message}");
            }

            return new NewModelVersion(stored.Sha256, stored.SizeBytes, stored.Signature, source, runId);
        }
    }

    private static NewModelVersion NotServable(string source, string? runId, string why) =>
        new(null, 0, null, source, runId, StatusMessage: why);

    /// <summary>The store path of <c>runs:/{run}/{path}</c>, under the run's artifact root.</summary>
    private async Task<(string? Path, string RunId)> RunArtifactPathAsync(string source)
    {
        var rest = source[RunsScheme.Length..].TrimStart('/');
        var slash = rest.IndexOf('/');
        var runId = slash < 0 ? rest : rest[..slash];
        var relative = slash < 0 ? "" : rest[(slash + 1)..].Trim('/');
        if (runId.Length == 0)
        {
            throw new TrackingException($"'{source}' does not name a run: use runs:/<run_id>/<path>.");
        }

        var run = await grains.GetGrain<IRunGrain>(runId).Get()
            ?? throw RequestException.NotFound($"Run with id={runId} not found");
        var root = run.Info.ArtifactUri;
        if (!root.StartsWith(MlflowArtifactPath.UriScheme, StringComparison.OrdinalIgnoreCase))
        {
            return (null, runId);
        }

        return (StorePath(relative.Length == 0 ? root : $"{root.TrimEnd('/')}/{relative}"), runId);
    }

    private static string StorePath(string uri)
    {
        try
        {
            return MlflowArtifactPath.FromUri(uri);
        }
        catch (RequestException ex)
        {
            throw new TrackingException($"Invalid model source '{uri}': {ex.Message}");
        }
    }

    /// <summary>
    /// The store path of the ONNX file at or under <paramref name="path"/> (already opened when the path names it), or
    /// why there is none to serve.
    /// </summary>
    private async Task<(string? File, MlflowArtifactContent? Opened, string? Why)> FindOnnxAsync(string path, CancellationToken cancellationToken)
    {
        if (path.EndsWith(OnnxExtension, StringComparison.OrdinalIgnoreCase)
            && await artifacts.OpenReadAsync(path, cancellationToken) is { } single)
        {
            return (path, single, null);
        }

        var found = new List<string>();
        var any = false;
        await foreach (var entry in artifacts.ListRecursiveAsync(path, cancellationToken))
        {
            any = true;
            if (entry.Path.EndsWith(OnnxExtension, StringComparison.OrdinalIgnoreCase))
            {
                found.Add(entry.Path);
            }
        }

        return found.Count switch
        {
            1 => ($"{path}/{found[0]}", null, null),
            0 when !any => (null, null, $"Nothing is stored at '{path}' in the artifact store, so there is no ONNX file to serve."),
            0 => (null, null, $"No .onnx file is under '{path}'; MlGrid serves ONNX models (log the model in ONNX format to deploy it)."),
            _ when found.Contains(FlavourFileName) => ($"{path}/{FlavourFileName}", null, null),
            _ => (null, null, $"{found.Count} .onnx files are under '{path}' ({string.Join(", ", found.Take(5))}); register the path of the one to serve."),
        };
    }
}
