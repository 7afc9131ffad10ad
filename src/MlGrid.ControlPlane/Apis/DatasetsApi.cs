using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using MlGrid.Contracts;
using MlGrid.Datasets;
using MlGrid.Hosting;

namespace MlGrid.ControlPlane.Apis;

/// <summary>
/// Versioned datasets: upload a CSV or Parquet file as a numbered, immutable, profiled version; read versions and bytes
/// back.
/// </summary>
public static class DatasetsApi
{
    public const string CsvContentType = "text/csv";
    public const string CsvFormat = DatasetFormats.Csv;
    public const string ParquetContentType = "application/vnd.apache.parquet";
    public const string ParquetFormat = DatasetFormats.Parquet;

    public static RouteGroupBuilder MapDatasetsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1/datasets").WithTags("Datasets");
        api.MapGet("/", ListDatasets);
        api.MapGet("/{name}", GetDataset);
        api.MapPost("/{name}/versions", UploadVersion).DisableAntiforgery().DocumentRawBody(CsvContentType, ParquetContentType);
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

        var format = DatasetFormat.Named(found.Format);
        return TypedResults.Stream(stream, format.ContentType, $"{name}-v{version}{format.Extension}",
            entityTag: new Microsoft.Net.Http.Headers.EntityTagHeaderValue($"\"{found.Sha256}\""));
    }

    /// <summary>
    /// A CSV body is streamed once: hashed, profiled and spooled together. A Parquet file keeps its schema and row-group
    /// index in a footer at its end, so its body is hashed and spooled in one pass and then profiled from the spooled
    /// file, one column chunk at a time. Either way memory stays flat whatever the file's size; only a file that
    /// profiles cleanly is stored, and the same bytes again answer 200 with the version they already are.
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

        if (DatasetFormat.Of(context.Request.ContentType) is not { } format)
        {
            return Problems.Of(StatusCodes.Status415UnsupportedMediaType,
                $"Send the dataset as the raw request body with Content-Type: {CsvContentType} (UTF-8, comma-separated, with a header row) or {ParquetContentType} (a Parquet file with flat columns).");
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
        var spool = Path.Combine(options.Value.SpoolDirectory, Guid.NewGuid().ToString("N") + format.Extension);
        try
        {
            string sha256;
            long size;
            DatasetProfile profile;
            if (format == DatasetFormat.Csv)
            {
                var profiler = new CsvProfiler();
                (sha256, size) = await UploadSpool.SpoolAsync(context.Request.Body, spool, limit, chunk => profiler.Append(chunk.Span), cancellationToken);
                if (size > limit)
                {
                    return TooLarge(limit);
                }

                profile = profiler.Complete();
            }
            else
            {
                (sha256, size) = await UploadSpool.SpoolAsync(context.Request.Body, spool, limit, null, cancellationToken);
                if (size > limit)
                {
                    return TooLarge(limit);
                }

                await using var file = new FileStream(spool, new FileStreamOptions { Mode = FileMode.Open, Access = FileAccess.Read, BufferSize = 64 * 1024 });
                profile = await ParquetProfiler.ProfileAsync(file, new ProfilerOptions { MaxColumnChunkBytes = options.Value.MaxParquetColumnChunkBytes }, cancellationToken);
            }

            await artifacts.PutIfAbsentAsync(sha256, spool, cancellationToken);
            var added = await grains.GetGrain<IDatasetGrain>(name).AddVersion(new NewDatasetVersion(
                sha256, size, format.Name, profile.Rows, [.. profile.Columns.Select(ToColumn)]));
            var version = added.Version;
            if (!added.Created)
            {
                return TypedResults.Ok(version);
            }

            logger.LogInformation("Dataset {Dataset} version {Version} registered ({Format}, {Sha256}, {Size} bytes, {Rows} rows, {Columns} columns)",
                name, version.Version, format.Name, sha256, size, version.Rows, version.Columns.Count);
            return TypedResults.Created($"/api/v1/datasets/{name}/versions/{version.Version}", version);
        }
        catch (DatasetFormatException ex)
        {
            return Problems.Of(StatusCodes.Status400BadRequest, $"The {format.Label} cannot be read: {ex.Message.TrimEnd('.')}. Nothing was stored.");
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

/// <summary>A dataset file format: its name on a version, its media type, and its file extension.</summary>
internal sealed record DatasetFormat(string Name, string ContentType, string Extension, string Label)
{
    public static readonly DatasetFormat Csv = new(DatasetsApi.CsvFormat, DatasetsApi.CsvContentType, ".csv", "CSV");
    public static readonly DatasetFormat Parquet = new(DatasetsApi.ParquetFormat, DatasetsApi.ParquetContentType, ".parquet", "Parquet file");

    /// <summary>The format a request's Content-Type names (CSV only as UTF-8), or null.</summary>
    public static DatasetFormat? Of(string? contentType)
    {
        if (contentType is null || !Microsoft.Net.Http.Headers.MediaTypeHeaderValue.TryParse(contentType, out var media))
        {
            return null;
        }

        if (string.Equals(media.MediaType.Value, DatasetsApi.CsvContentType, StringComparison.OrdinalIgnoreCase))
        {
            return media.Charset.Value is null || string.Equals(media.Charset.Value, "utf-8", StringComparison.OrdinalIgnoreCase) ? Csv : null;
        }

        return string.Equals(media.MediaType.Value, DatasetsApi.ParquetContentType, StringComparison.OrdinalIgnoreCase) ? Parquet : null;
    }

    /// <summary>The format a stored version was uploaded as.</summary>
    public static DatasetFormat Named(string format) => format == Parquet.Name ? Parquet : Csv;
}
