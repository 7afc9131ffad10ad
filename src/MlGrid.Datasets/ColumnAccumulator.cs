using System.Globalization;

namespace MlGrid.Datasets;

/// <summary>
/// Everything one column needs from a single pass. The type only widens (integer → float → string,
/// boolean → string), and a widened column cannot be re-read, so top values are counted from the first value on
/// whatever the type, beside the numeric accumulators; the report uses whichever matches the final type.
/// </summary>
internal sealed class ColumnAccumulator(string name, CsvProfilerOptions options)
{
    private const char Ellipsis = '\u2026';

    private readonly TopValueCounter _topValues = new(options.TopValueCapacity);
    private StreamingHistogram? _histogram = new(options.HistogramBins);
    private Kind _kind;
    private long _nulls;
    private long _count;
    private double _mean;
    private double _m2;
    private double _min = double.PositiveInfinity;
    private double _max = double.NegativeInfinity;
    private long _trues;
    private long _falses;

    private enum Kind
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
                    AddNumber(first);
                }
                else if (TryFloat(value, out var number))
                {
                    _kind = Kind.Float;
                    AddNumber(number);
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
                    AddNumber(integer);
                }
                else if (TryFloat(value, out var number))
                {
                    _kind = Kind.Float;
                    AddNumber(number);
                }
                else
                {
                    BecomeString();
                }

                break;
            case Kind.Float:
                if (TryFloat(value, out var real))
                {
                    AddNumber(real);
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

    public ColumnProfile ToProfile()
    {
        switch (_kind)
        {
            case Kind.Integer or Kind.Float:
                // Numeric columns list their values too when all of them fit in the report.
                var values = _topValues.IsExact && _topValues.Distinct <= options.TopValueCount
                    ? _topValues.Top(options.TopValueCount)
                    : [];
                return new ColumnProfile(
                    name,
                    _kind == Kind.Integer ? ColumnTypes.Integer : ColumnTypes.Float,
                    _nulls,
                    _min,
                    _max,
                    _mean,
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
                // A column with no values at all is reported as string: nothing says otherwise.
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

    private void AddNumber(double value)
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

    private void AddBoolean(bool value)
    {
        if (value)
        {
            _trues++;
        }
        else
        {
            _falses++;
        }
    }

    private void BecomeString()
    {
        _kind = Kind.String;
        _histogram = null;
    }
}
