using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using MlGrid.Contracts;
using MlGrid.Datasets;
using MlGrid.Hosting;

namespace MlGrid.ControlPlane.Apis;

/// <summary>Versioned datasets: upload a CSV as a numbered, immutable, profiled version; read versions and bytes back.</summary>
public static class DatasetsApi
{
    public const string CsvContentType = "text/csv";
    public const string CsvFormat = "csv";

    public static RouteGroupBuilder MapDatasetsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1/datasets").WithTags("Datasets");
        api.MapGet("/", ListDatasets);
        api.MapGet("/{name}", GetDataset);
        api.MapPost("/{name}/versions", UploadVersion).Accepts<Stream>(CsvContentType).DisableAntiforgery();
        api.MapGet("/{name}/versions/{version:int}", GetVersion);
        api.MapGet("/{name}/versions/{version:int}/content", GetContent);
        return api;
    }

    public static async Task<Ok<List<DatasetSummary>>> ListDatasets(IGrainFactory grains)
    {
        var names = await grains.GetGrain<IDatasetCatalogGrain>(IDatasetCatalogGrain.Key).List();
        var datasets = await Task.WhenAll(names.Select(n => grains.GetGrain<IDatasetGrain>(n).Get()));
        return TypedResults.Ok(datasets.OfType<DatasetInfo>()
            .Select(d => new DatasetSummary(d.Name, d.LatestVersion, d.CreatedAt))
            .ToList());
    }

    public static async Task<Results<Ok<DatasetInfo>, ProblemHttpResult>> GetDataset(string name, IGrainFactory grains) =>
        Names.IsValid(name) && await grains.GetGrain<IDatasetGrain>(name).Get() is { } dataset
            ? TypedResults.Ok(dataset)
            : Problems.Of(StatusCodes.Status404NotFound, $"Dataset '{name}' does not exist.");

    public static async Task<Results<Ok<DatasetVersionInfo>, ProblemHttpResult>> GetVersion(string name, int version, IGrainFactory grains) =>
        await FindAsync(grains, name, version) is { } found
            ? TypedResults.Ok(found)
            : Problems.Of(StatusCodes.Status404NotFound, $"Dataset '{name}' has no version {version}.");

    public static async Task<Results<FileStreamHttpResult, ProblemHttpResult>> GetContent(
        string name, int version, IGrainFactory grains, ArtifactStore artifacts, CancellationToken cancellationToken)
    {
        if (await FindAsync(grains, name, version) is not { } found)
        {
            return Problems.Of(StatusCodes.Status404NotFound, $"Dataset '{name}' has no version {version}.");
        }

        var stream = await artifacts.OpenReadAsync(found.Sha256, cancellationToken);
        if (stream is null)
        {
            return Problems.Of(StatusCodes.Status503ServiceUnavailable, $"The file of dataset '{name}' version {version} is missing from storage.");
        }

        return TypedResults.Stream(stream, CsvContentType, $"{name}-v{version}.csv",
            entityTag: new Microsoft.Net.Http.Headers.EntityTagHeaderValue($"\"{found.Sha256}\""));
    }

    /// <summary>
    /// Streams the body once: hashed, profiled and spooled together, so memory stays flat whatever the file's size.
    /// Only a file that profiles cleanly is stored; the same bytes again answer 200 with the version they already are.
    /// </summary>
    public static async Task<Results<Created<DatasetVersionInfo>, Ok<DatasetVersionInfo>, ProblemHttpResult>> UploadVersion(
        string name,
        HttpContext context,
        IGrainFactory grains,
        ArtifactStore artifacts,
        IOptions<DatasetUploadOptions> options,
        ILogger<DatasetUploadOptions> logger,
        CancellationToken cancellationToken)
    {
        if (!Names.IsValid(name))
        {
            return Problems.Of(StatusCodes.Status400BadRequest,
                $"'{name}' is not a valid dataset name: use 1 to {Names.MaxLength} letters, digits, '-', '_' or '.', starting with a letter or digit.");
        }

        if (!IsCsv(context.Request.ContentType))
        {
            return Problems.Of(StatusCodes.Status415UnsupportedMediaType,
                $"Send the dataset as the raw request body with Content-Type: {CsvContentType} (UTF-8, comma-separated, with a header row).");
        }

        var limit = options.Value.MaxDatasetBytes;
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } bodySize)
        {
            bodySize.MaxRequestBodySize = limit;
        }

        if (context.Request.ContentLength > limit)
        {
            return TooLarge(limit);
        }

        Directory.CreateDirectory(options.Value.SpoolDirectory);
        var spool = Path.Combine(options.Value.SpoolDirectory, Guid.NewGuid().ToString("N") + ".csv");
        try
        {
            var profiler = new CsvProfiler();
            var (sha256, size) = await UploadSpool.SpoolAsync(context.Request.Body, spool, limit, chunk => profiler.Append(chunk.Span), cancellationToken);
            if (size > limit)
            {
                return TooLarge(limit);
            }

            var profile = profiler.Complete();
            await artifacts.PutIfAbsentAsync(sha256, spool, cancellationToken);
            var added = await grains.GetGrain<IDatasetGrain>(name).AddVersion(new NewDatasetVersion(
                sha256, size, CsvFormat, profile.Rows, [.. profile.Columns.Select(ToColumn)]));
            var version = added.Version;
            if (!added.Created)
            {
                return TypedResults.Ok(version);
            }

            logger.LogInformation("Dataset {Dataset} version {Version} registered ({Sha256}, {Size} bytes, {Rows} rows, {Columns} columns)",
                name, version.Version, sha256, size, version.Rows, version.Columns.Count);
            return TypedResults.Created($"/api/v1/datasets/{name}/versions/{version.Version}", version);
        }
        catch (DatasetFormatException ex)
        {
            return Problems.Of(StatusCodes.Status400BadRequest, $"The CSV cannot be read: {ex.Message} Nothing was stored.");
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return TooLarge(limit);
        }
        finally
        {
            File.Delete(spool);
        }
    }

    private static ProblemHttpResult TooLarge(long limit) =>
        Problems.Of(StatusCodes.Status413PayloadTooLarge, $"Dataset files are limited to {limit} bytes (Datasets:MaxDatasetBytes).");

    private static bool IsCsv(string? contentType) =>
        contentType is not null
        && Microsoft.Net.Http.Headers.MediaTypeHeaderValue.TryParse(contentType, out var media)
        && string.Equals(media.MediaType.Value, CsvContentType, StringComparison.OrdinalIgnoreCase)
        && (media.Charset.Value is null || string.Equals(media.Charset.Value, "utf-8", StringComparison.OrdinalIgnoreCase));

    private static async Task<DatasetVersionInfo?> FindAsync(IGrainFactory grains, string name, int version) =>
        Names.IsValid(name) ? await grains.GetGrain<IDatasetGrain>(name).GetVersion(version) : null;

    private static DatasetColumn ToColumn(ColumnProfile column) => new(
        column.Name,
        column.Type,
        column.Nulls,
        column.Min,
        column.Max,
        column.Mean,
        column.Std,
        column.Histogram is { } histogram ? new DatasetHistogram([.. histogram.Edges], [.. histogram.Counts]) : null,
        [.. column.TopValues.Select(v => new DatasetValueCount(v.Value, v.Count))]);
}

public sealed record DatasetSummary(string Name, int LatestVersion, DateTimeOffset CreatedAt);
