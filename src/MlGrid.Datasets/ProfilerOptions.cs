namespace MlGrid.Datasets;

/// <summary>
/// Limits and report sizes for <see cref="CsvProfiler"/> and <see cref="ParquetProfiler"/>; the defaults suit uploads
/// of any row count. The report sizes are shared, so both formats report the same data the same way.
/// </summary>
public sealed record ProfilerOptions
{
    public static ProfilerOptions Default { get; } = new();

    /// <summary>The most columns a file may have; each column costs up to a top-value counter of memory.</summary>
    public int MaxColumns { get; init; } = 10_000;

    /// <summary>CSV: the longest field in UTF-8 bytes; the profiler buffers one field at a time.</summary>
    public int MaxFieldBytes { get; init; } = 1024 * 1024;

    /// <summary>
    /// Parquet: the largest column chunk (one column of one row group, uncompressed, as the file's metadata states it).
    /// The profiler holds one chunk's values at a time, so this bounds its memory; larger chunks are refused with a
    /// request to write smaller row groups.
    /// </summary>
    public long MaxColumnChunkBytes { get; init; } = 256L * 1024 * 1024;

    /// <summary>Parquet: the largest footer (the file metadata: schema, row groups, column chunk offsets).</summary>
    public int MaxFooterBytes { get; init; } = 64 * 1024 * 1024;

    /// <summary>The most bins a numeric column's histogram reports.</summary>
    public int HistogramBins { get; init; } = 20;

    /// <summary>Distinct values tracked per column; top values are exact up to this many distinct values.</summary>
    public int TopValueCapacity { get; init; } = 1_000;

    /// <summary>How many top values a column reports.</summary>
    public int TopValueCount { get; init; } = 10;

    /// <summary>Longer values are cut to this many characters (and an ellipsis) before counting, to bound memory.</summary>
    public int MaxValueLength { get; init; } = 256;

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxColumns, 1, nameof(MaxColumns));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxFieldBytes, 1, nameof(MaxFieldBytes));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxColumnChunkBytes, 1, nameof(MaxColumnChunkBytes));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxFooterBytes, 1, nameof(MaxFooterBytes));
        ArgumentOutOfRangeException.ThrowIfLessThan(HistogramBins, 2, nameof(HistogramBins));
        ArgumentOutOfRangeException.ThrowIfLessThan(TopValueCount, 1, nameof(TopValueCount));
        ArgumentOutOfRangeException.ThrowIfLessThan(TopValueCapacity, TopValueCount, nameof(TopValueCapacity));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxValueLength, 1, nameof(MaxValueLength));
    }
}
