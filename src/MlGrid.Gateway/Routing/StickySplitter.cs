using MlGrid.Contracts;

namespace MlGrid.Gateway.Routing;

/// <summary>
/// Picks the deployment for a sticky key by weighted rendezvous (highest-random-weight) hashing: every ready
/// deployment scores <c>-weight / ln(u)</c> with <c>u</c> a stable hash of key and deployment name in (0, 1), and the
/// highest score wins. A key therefore stays on one deployment while the weights stay the same, on every gateway and
/// across restarts.
/// <para>
/// When weights change, a key moves from deployment <c>j</c> to <c>k</c> only if <c>k</c>'s weight grew relative to
/// <c>j</c>'s (<c>w'k / w'j &gt; wk / wj</c>): keys never move between two deployments whose weights keep their ratio
/// (both unchanged, say), a new deployment only takes keys, and a removed one only gives away its own. With two
/// deployments that is the least movement possible: exactly the change in share moves, from the shrinking deployment
/// to the growing one. With three or more it can be more than the least: a deployment whose weight is unchanged may
/// take keys from one that shrank and lose others to one that grew, so 30/30/40 to 20/40/40 moves about 13.5% of keys
/// where 10% would do.
/// </para>
/// </summary>
public static class StickySplitter
{
    private const ulong FnvOffset = 14695981039346656037UL;
    private const ulong FnvPrime = 1099511628211UL;

    /// <summary>
    /// The deployment for <paramref name="key"/> among deployments with weight &gt; 0 and a ready replica, or null
    /// when there is none.
    /// </summary>
    public static DeploymentRoute? Choose(IReadOnlyList<DeploymentRoute> deployments, ReadOnlySpan<char> key)
    {
        var keyState = Append(FnvOffset, key);
        DeploymentRoute? best = null;
        var bestScore = double.NegativeInfinity;
        foreach (var d in deployments)
        {
            if (d.Weight <= 0 || d.ReplicaUrls.Count == 0)
            {
                continue;
            }

            // ln(u) < 0 for u in (0, 1), so the score is positive and grows with the weight.
            var score = -d.Weight / Math.Log(Unit(Finish(Append(keyState, d.Name))));
            if (score > bestScore)
            {
                best = d;
                bestScore = score;
            }
        }

        return best;
    }

    /// <summary>
    /// A stable 64-bit hash of <paramref name="key"/> and <paramref name="deployment"/>: FNV-1a over the UTF-16 code
    /// units of the key, a separator and the name, then the MurmurHash3 finaliser for avalanche. It must never change:
    /// a different hash reshuffles every sticky caller.
    /// </summary>
    public static ulong Hash(ReadOnlySpan<char> key, string deployment) => Finish(Append(Append(FnvOffset, key), deployment));

    private static ulong Append(ulong state, ReadOnlySpan<char> text)
    {
        foreach (var c in text)
        {
            state = (state ^ (byte)c) * FnvPrime;
            state = (state ^ (byte)(c >> 8)) * FnvPrime;
        }

        return state;
    }

    private static ulong Append(ulong keyState, string deployment)
    {
        // The separator keeps ("ab", "c") and ("a", "bc") apart.
        var state = (keyState ^ 0xFF) * FnvPrime;
        return Append(state, deployment.AsSpan());
    }

    private static ulong Finish(ulong h)
    {
        h ^= h >> 33;
        h *= 0xFF51AFD7ED558CCDUL;
        h ^= h >> 33;
        h *= 0xC4CEB9FE1A85EC53UL;
        h ^= h >> 33;
        return h;
    }

    /// <summary>The top 53 bits as a double strictly inside (0, 1).</summary>
    private static double Unit(ulong h) => ((h >> 11) + 0.5) * (1.0 / (1UL << 53));
}
