namespace MlGrid.Tracking;

/// <summary>
/// A SQL <c>LIKE</c> pattern: <c>%</c> matches any run of characters (none included), <c>_</c> exactly one, and a
/// backslash makes the next character literal (<c>100\%</c>), as in PostgreSQL and MySQL. The pattern must match the
/// whole value. Matching is linear in practice: the greedy walk backtracks only to the last <c>%</c>.
/// </summary>
internal sealed class LikePattern
{
    private const char AnyRun = '%';
    private const char AnyOne = '_';

    // Each element is a literal character or a wildcard; IsWildcard tells an escaped '%' from a real one.
    private readonly (char Char, bool IsWildcard)[] _parts;
    private readonly bool _ignoreCase;

    private LikePattern((char, bool)[] parts, bool ignoreCase)
    {
        _parts = parts;
        _ignoreCase = ignoreCase;
    }

    public static LikePattern Compile(string pattern, bool ignoreCase)
    {
        var parts = new List<(char, bool)>(pattern.Length);
        for (var i = 0; i < pattern.Length; i++)
        {
            var c = pattern[i];
            if (c == '\\' && i + 1 < pattern.Length)
            {
                parts.Add((pattern[++i], false));
            }
            else
            {
                parts.Add((c, c is AnyRun or AnyOne));
            }
        }

        return new LikePattern([.. parts], ignoreCase);
    }

    public bool IsMatch(string value)
    {
        var v = 0;
        var p = 0;
        var lastRun = -1;
        var resumeAt = 0;
        while (v < value.Length)
        {
            if (p < _parts.Length && _parts[p] is (AnyRun, true))
            {
                lastRun = p++;
                resumeAt = v;
            }
            else if (p < _parts.Length && (_parts[p] is (AnyOne, true) || Same(_parts[p].Char, value[v]) && !_parts[p].IsWildcard))
            {
                p++;
                v++;
            }
            else if (lastRun >= 0)
            {
                p = lastRun + 1;
                v = ++resumeAt;
            }
            else
            {
                return false;
            }
        }

        while (p < _parts.Length && _parts[p] is (AnyRun, true))
        {
            p++;
        }

        return p == _parts.Length;
    }

    private bool Same(char a, char b) =>
        a == b || _ignoreCase && char.ToUpperInvariant(a) == char.ToUpperInvariant(b);
}
