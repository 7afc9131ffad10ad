namespace MlGrid.Datasets;

/// <summary>Limits and report sizes for <see cref="CsvProfiler"/>; the defaults suit uploads of any row count.</summary>
public sealed record CsvProfilerOptions
{
    public static CsvProfilerOptions Default { get; } = new();

    /// <summary>The most columns a header may name; each column costs up to a top-value counter of memory.</summary>
    public int MaxColumns { get; init; } = 10_000;

    /// <summary>The longest field in UTF-8 bytes; the profiler buffers one field at a time.</summary>
    public int MaxFieldBytes { get; init; } = 1024 * 1024;

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
        ArgumentOutOfRangeException.ThrowIfLessThan(HistogramBins, 2, nameof(HistogramBins));
        ArgumentOutOfRangeException.ThrowIfLessThan(TopValueCount, 1, nameof(TopValueCount));
        ArgumentOutOfRangeException.ThrowIfLessThan(TopValueCapacity, TopValueCount, nameof(TopValueCapacity));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxValueLength, 1, nameof(MaxValueLength));
    }
}
