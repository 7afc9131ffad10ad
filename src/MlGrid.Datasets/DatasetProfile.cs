namespace MlGrid.Datasets;

/// <summary>What one pass over a dataset learned: the number of data rows and a profile per column, in header order.</summary>
public sealed record DatasetProfile(long Rows, IReadOnlyList<ColumnProfile> Columns);

/// <summary>
/// One column's profile. <see cref="Min"/>, <see cref="Max"/>, <see cref="Mean"/>, <see cref="Std"/> and
/// <see cref="Histogram"/> are set for numeric columns only; <see cref="Std"/> is the sample standard deviation
/// (n - 1 in the denominator) and is null below two values. <see cref="TopValues"/> is filled for string and boolean
/// columns, and for numeric columns whose distinct values all fit in it.
/// </summary>
public sealed record ColumnProfile(
    string Name,
    string Type,
    long Nulls,
    double? Min,
    double? Max,
    double? Mean,
    double? Std,
    Histogram? Histogram,
    IReadOnlyList<ValueCount> TopValues);

/// <summary>
/// Counts over <c>Edges.Count - 1</c> bins. Bin i holds values v with <c>Edges[i] &lt;= v &lt; Edges[i + 1]</c>, the last
/// bin also holds <c>v == Edges[^1]</c>. The first edge is the column's minimum and the last its maximum.
/// </summary>
public sealed record Histogram(IReadOnlyList<double> Edges, IReadOnlyList<long> Counts);

/// <summary>
/// A frequent value and how often it occurs. Exact while a column has no more distinct values than the counter
/// capacity; beyond that the count may exceed the true one by at most rows / capacity.
/// </summary>
public sealed record ValueCount(string Value, long Count);

/// <summary>The names <see cref="ColumnProfile.Type"/> takes.</summary>
public static class ColumnTypes
{
    public const string Integer = "integer";
    public const string Float = "float";
    public const string Boolean = "boolean";
    public const string String = "string";
}
