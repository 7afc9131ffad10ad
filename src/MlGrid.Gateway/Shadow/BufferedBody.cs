using System.Buffers;

namespace MlGrid.Gateway.Shadow;

/// <summary>
/// A request body read whole into memory, so that it can be sent to the live replica (again, on a retry) and copied to
/// the shadow deployment after the live request is done. Buffers up to 1 MB come from the shared pool; larger ones are
/// plain arrays the collector takes back.
/// </summary>
internal sealed class BufferedBody
{
    private const int PooledLimit = 1024 * 1024;
    private const int InitialChunk = 16 * 1024;

    private byte[]? _buffer;

    private BufferedBody(byte[] buffer, int length)
    {
        _buffer = buffer;
        Length = length;
    }

    public int Length { get; }

    public ReadOnlyMemory<byte> Memory => (_buffer ?? throw new ObjectDisposedException(nameof(BufferedBody))).AsMemory(0, Length);

    /// <summary>A read-only stream over the body that can be rewound for a retry.</summary>
    public MemoryStream OpenRead() => new(_buffer ?? throw new ObjectDisposedException(nameof(BufferedBody)), 0, Length, writable: false);

    /// <summary>Reads the body; throws <see cref="BadHttpRequestException"/> (413) past <paramref name="limit"/> bytes.</summary>
    public static async Task<BufferedBody> ReadAsync(HttpRequest request, int limit, CancellationToken cancellationToken)
    {
        var expected = request.ContentLength;
        if (expected > limit)
        {
            throw TooLarge(limit);
        }

        var buffer = Rent(expected is { } known ? (int)known : InitialChunk);
        var length = 0;
        try
        {
            while (expected is null || length < expected)
            {
                if (length == buffer.Length)
                {
                    if (length >= limit)
                    {
                        // Full at the limit: one more byte means too large.
                        var probe = new byte[1];
                        if (await request.Body.ReadAsync(probe, cancellationToken) > 0)
                        {
                            throw TooLarge(limit);
                        }

                        break;
                    }

                    var larger = Rent((int)Math.Min((long)buffer.Length * 2, limit));
                    buffer.AsSpan(0, length).CopyTo(larger);
                    Return(buffer);
                    buffer = larger;
                }

                var read = await request.Body.ReadAsync(buffer.AsMemory(length), cancellationToken);
                if (read == 0)
                {
                    break;
                }

                length += read;
            }

            return new BufferedBody(buffer, length);
        }
        catch
        {
            Return(buffer);
            throw;
        }
    }

    /// <summary>Gives the buffer back; the body is unusable afterwards. Safe to call more than once.</summary>
    public void Release()
    {
        if (Interlocked.Exchange(ref _buffer, null) is { } buffer)
        {
            Return(buffer);
        }
    }

    private static byte[] Rent(int size) => size <= PooledLimit
        ? ArrayPool<byte>.Shared.Rent(Math.Max(size, 1))
        : GC.AllocateUninitializedArray<byte>(size);

    private static void Return(byte[] buffer)
    {
        if (buffer.Length <= PooledLimit)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static BadHttpRequestException TooLarge(int limit) =>
        new($"The request body is larger than {limit} bytes.", StatusCodes.Status413PayloadTooLarge);
}
