using System.Globalization;

namespace MlGrid.Datasets;

/// <summary>
/// Everything one column needs from a single pass. A CSV column's type is inferred and only widens (integer → float →
/// string, boolean → string), and a widened column cannot be re-read, so top values are counted from the first value
/// on whatever the type, beside the numeric accumulators; the report uses whichever matches the final type. A column
/// whose file declares its type (Parquet) is created with that type and fed typed values, through the same
/// accumulators, so the same data gives the same profile in either format.
/// </summary>
internal sealed class ColumnAccumulator(string name, ProfilerOptions options, ColumnAccumulator.Kind declared = ColumnAccumulator.Kind.None)
{
    private const char Ellipsis = '\u2026';

    private readonly TopValueCounter _topValues = new(options.TopValueCapacity);
    private StreamingHistogram? _histogram = declared == Kind.String ? null : new(options.HistogramBins);
    private Kind _kind = declared;
    private long _nulls;
    private long _count;
    private double _mean;
    private double _m2;
    private double _min = double.PositiveInfinity;
    private double _max = double.NegativeInfinity;
    private long _trues;
    private long _falses;

    /// <summary>A column's type; <see cref="None"/> until a CSV column's first value, or for a column to infer.</summary>
    internal enum Kind
    {
        None,
        Integer,
        Float,
        Boolean,
        String,
    }

    /// <summary>Adds one field; null or empty is a missing value.</summary>
    public void Add(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            _nulls++;
            return;
        }

        _topValues.Add(Truncate(value, options.MaxValueLength));

        switch (_kind)
        {
            case Kind.None:
                if (TryInteger(value, out var first))
                {
                    _kind = Kind.Integer;
                    Accumulate(first);
                }
                else if (TryFloat(value, out var number))
                {
                    _kind = Kind.Float;
                    Accumulate(number);
                }
                else if (bool.TryParse(value, out var flag))
                {
                    _kind = Kind.Boolean;
                    AddBoolean(flag);
                }
                else
                {
                    BecomeString();
                }

                break;
            case Kind.Integer:
                if (TryInteger(value, out var integer))
                {
                    Accumulate(integer);
                }
                else if (TryFloat(value, out var number))
                {
                    _kind = Kind.Float;
                    Accumulate(number);
                }
                else
                {
                    BecomeString();
                }

                break;
            case Kind.Float:
                if (TryFloat(value, out var real))
                {
                    Accumulate(real);
                }
                else
                {
                    BecomeString();
                }

                break;
            case Kind.Boolean:
                if (bool.TryParse(value, out var boolean))
                {
                    AddBoolean(boolean);
                }
                else
                {
                    BecomeString();
                }

                break;
        }
    }

    /// <summary>
    /// When set, every value given to a declared column is also kept here as the CSV field that stands for it (empty
    /// for a missing value), so a Parquet file can be written out as the CSV its profile describes.
    /// </summary>
    public List<string>? Cells { get; set; }

    /// <summary>A missing value of a column with a declared type.</summary>
    public void AddMissing()
    {
        _nulls++;
        Cells?.Add("");
    }

    /// <summary>
    /// A finite value of a declared integer or float column, with the text the top values count it under (a CSV
    /// column counts the field as written, so <paramref name="text"/> should be how CSV would write the value).
    /// </summary>
    public void AddNumber(double value, string text)
    {
        Cells?.Add(text);
        _topValues.Add(Truncate(text, options.MaxValueLength));
        Accumulate(value);
    }

    /// <summary>A value of a declared string column; empty is a missing value, as an empty CSV field is.</summary>
    public void AddText(string value)
    {
        Cells?.Add(value);
        if (value.Length == 0)
        {
            _nulls++;
            return;
        }

        _topValues.Add(Truncate(value, options.MaxValueLength));
    }

    /// <summary>A value of a boolean column, declared or inferred.</summary>
    public void AddBoolean(bool value)
    {
        Cells?.Add(value ? "true" : "false");
        if (value)
        {
            _trues++;
        }
        else
        {
            _falses++;
        }
    }

    public ColumnProfile ToProfile()
    {
        switch (_kind)
        {
            case Kind.Integer or Kind.Float:
                // Numeric columns list their values too when all of them fit in the report.
                var values = _topValues.IsExact && _topValues.Distinct <= options.TopValueCount
                    ? _topValues.Top(options.TopValueCount)
                    : [];
                // A declared numeric column may have no values at all: no statistics then.
                return new ColumnProfile(
                    name,
                    _kind == Kind.Integer ? ColumnTypes.Integer : ColumnTypes.Float,
                    _nulls,
                    _count > 0 ? _min : null,
                    _count > 0 ? _max : null,
                    _count > 0 ? _mean : null,
                    _count > 1 ? Math.Sqrt(_m2 / (_count - 1)) : null,
                    _histogram!.ToHistogram(),
                    values);
            case Kind.Boolean:
                ValueCount[] counts = [new("true", _trues), new("false", _falses)];
                return new ColumnProfile(
                    name,
                    ColumnTypes.Boolean,
                    _nulls,
                    null,
                    null,
                    null,
                    null,
                    null,
                    [.. counts.Where(c => c.Count > 0).OrderByDescending(c => c.Count).ThenBy(c => c.Value, StringComparer.Ordinal)]);
            default:
                // An inferred column with no values at all is reported as string: nothing says otherwise.
                return new ColumnProfile(name, ColumnTypes.String, _nulls, null, null, null, null, null, _topValues.Top(options.TopValueCount));
        }
    }

    internal static string Truncate(string value, int maxLength)
    {
        if (value.Length <= maxLength)
        {
            return value;
        }

        // Never split a surrogate pair, which would leave an unpaired half in the report.
        var length = char.IsHighSurrogate(value[maxLength - 1]) ? maxLength - 1 : maxLength;
        return string.Concat(value.AsSpan(0, length), [Ellipsis]);
    }

    private static bool TryInteger(string value, out long result) =>
        long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out result);

    // NaN and infinities would poison the mean and the histogram, so they count as text.
    private static bool TryFloat(string value, out double result) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out result) && double.IsFinite(result);

    private void Accumulate(double value)
    {
        _count++;
        var delta = value - _mean;
        _mean += delta / _count;
        _m2 += delta * (value - _mean);
        _min = Math.Min(_min, value);
        _max = Math.Max(_max, value);

        // Integer columns keep bins at least one wide, so each bin holds whole numbers.
        _histogram!.Add(value, _kind == Kind.Integer ? 0 : int.MinValue);
    }

    private void BecomeString()
    {
        _kind = Kind.String;
        _histogram = null;
    }
}
