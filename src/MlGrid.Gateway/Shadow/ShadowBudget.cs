namespace MlGrid.Gateway.Shadow;

/// <summary>
/// The memory that bodies buffered for shadow copies may hold at once. Bytes are reserved before they are buffered
/// and given back when the copy is dropped or sent, so that concurrent mirrored requests never hold more together.
/// </summary>
internal sealed class ShadowBudget(long limit)
{
    private long _reserved;

    public long Limit { get; } = limit;

    /// <summary>Bytes reserved now.</summary>
    public long Reserved => Volatile.Read(ref _reserved);

    /// <summary>Reserves <paramref name="bytes"/>, or nothing and false when they do not fit.</summary>
    public bool TryReserve(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        var current = Volatile.Read(ref _reserved);
        while (true)
        {
            if (bytes > Limit - current)
            {
                return false;
            }

            var seen = Interlocked.CompareExchange(ref _reserved, current + bytes, current);
            if (seen == current)
            {
                return true;
            }

            current = seen;
        }
    }

    public void Release(long bytes) => Interlocked.Add(ref _reserved, -bytes);
}
