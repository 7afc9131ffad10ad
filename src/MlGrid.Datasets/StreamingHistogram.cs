namespace MlGrid.Datasets;

/// <summary>
/// A fixed number of bins built in one pass without knowing the range first. Bin widths are powers of two and bin
/// edges are multiples of the width, so every edge is an exact double and a value's bin is found exactly (no edge
/// rounding can put a value in a bin that does not contain it). When a value falls outside the window the width
/// doubles (adjacent bins merge pairwise, exactly) until the data and the value fit, and the window moves toward
/// the new value. The report keeps the bins from the first to the last non-empty one and replaces the outer edges
/// with the exact minimum and maximum, so it has between one and <c>bins</c> bins.
/// </summary>
internal sealed class StreamingHistogram(int bins)
{
    // Bin indices stay below 2^51 so they, and the edges built from them, are exact doubles.
    private const int MantissaMargin = 50;
    private const double MaxIndex = 1L << 52;
    private const int SmallestExponent = -1074;

    private readonly long[] _counts = new long[bins];
    private readonly long[] _scratch = new long[bins];
    private int _exponent;
    private long _start;
    private bool _ranged;
    private double _first;
    private long _firstCount;
    private double _min = double.PositiveInfinity;
    private double _max = double.NegativeInfinity;

    /// <summary>Adds a finite value; <paramref name="minExponent"/> keeps bins at least 2^minExponent wide.</summary>
    public void Add(double value, int minExponent)
    {
        _min = Math.Min(_min, value);
        _max = Math.Max(_max, value);

        if (!_ranged)
        {
            // A width needs two distinct values; a constant column so far is just a count.
            if (_firstCount == 0 || value == _first)
            {
                _first = value;
                _firstCount++;
                return;
            }

            var lo = Math.Min(_first, value);
            _exponent = ChooseExponent(lo, Math.Max(_first, value), minExponent);
            _start = Index(lo, _exponent);
            _counts[Index(_first, _exponent) - _start] += _firstCount;
            _ranged = true;
        }

        if (TryIndex(value, _exponent, out var index) && index >= _start && index - _start < bins)
        {
            _counts[index - _start]++;
            return;
        }

        Expand(value, minExponent);
    }

    public Histogram? ToHistogram()
    {
        if (!_ranged)
        {
            return _firstCount == 0 ? null : new Histogram([_min, _max], [_firstCount]);
        }

        var lo = Array.FindIndex(_counts, c => c != 0);
        var hi = Array.FindLastIndex(_counts, c => c != 0);
        var n = hi - lo + 1;
        var edges = new double[n + 1];
        edges[0] = _min;
        for (var j = 1; j < n; j++)
        {
            edges[j] = Math.ScaleB(_start + lo + j, _exponent);
        }

        edges[n] = _max;
        return new Histogram(edges, _counts[lo..(hi + 1)]);
    }

    private void Expand(double value, int minExponent)
    {
        var lo = _start + Array.FindIndex(_counts, c => c != 0);
        var hi = _start + Array.FindLastIndex(_counts, c => c != 0);
        var above = value >= Math.ScaleB(_start, _exponent);
        var exponent = ChooseExponent(
            Math.Min(Math.ScaleB(lo, _exponent), value),
            Math.Max(Math.ScaleB(hi, _exponent), value),
            Math.Max(_exponent, minExponent));

        // Indices are far below 2^63, so a shift of 63 already gives floor division's 0 or -1.
        var shift = Math.Min(exponent - _exponent, 63);
        var index = Index(value, exponent);
        var start = above ? Math.Min(lo >> shift, index) : Math.Max(hi >> shift, index) - bins + 1;

        Array.Copy(_counts, _scratch, bins);
        Array.Clear(_counts);
        for (var i = 0; i < bins; i++)
        {
            if (_scratch[i] != 0)
            {
                _counts[((_start + i) >> shift) - start] += _scratch[i];
            }
        }

        _counts[index - start]++;
        _exponent = exponent;
        _start = start;
    }

    /// <summary>The smallest exponent, at least <paramref name="minExponent"/>, at which [lo, hi] spans at most <c>bins</c> bins.</summary>
    private int ChooseExponent(double lo, double hi, int minExponent)
    {
        var exponent = Math.Max(minExponent, SmallestExponent);
        exponent = Math.Max(exponent, MagnitudeFloor(lo));
        exponent = Math.Max(exponent, MagnitudeFloor(hi));

        // Starts just below the answer: at this exponent the spread covers more than 2 * bins bins.
        var spread = hi - lo;
        if (double.IsFinite(spread) && spread > 0)
        {
            exponent = Math.Max(exponent, Math.ILogB(spread) - Math.ILogB((double)bins) - 2);
        }

        while (Index(hi, exponent) - Index(lo, exponent) + 1 > bins)
        {
            exponent++;
        }

        return exponent;
    }

    private static int MagnitudeFloor(double value) => value == 0 ? int.MinValue : Math.ILogB(value) - MantissaMargin;

    private static bool TryIndex(double value, int exponent, out long index)
    {
        var scaled = Math.ScaleB(value, -exponent);
        if (!(Math.Abs(scaled) < MaxIndex))
        {
            index = 0;
            return false;
        }

        index = Index(value, exponent);
        return true;
    }

    private static long Index(double value, int exponent)
    {
        var scaled = Math.Floor(Math.ScaleB(value, -exponent));

        // A tiny negative value can underflow to -0 when scaled; it still lies below edge 0.
        return scaled == 0 && value < 0 ? -1 : (long)scaled;
    }
}
