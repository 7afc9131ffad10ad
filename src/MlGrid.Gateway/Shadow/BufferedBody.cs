using System.Buffers;

namespace MlGrid.Gateway.Shadow;

/// <summary>
/// A request body read into memory within the shadow memory budget, so that it can be sent to the live replica (again,
/// on a retry) and copied to the shadow deployment after the live request is done. Buffers up to 1 MB come from the
/// shared pool; larger ones are plain arrays the collector takes back. The bytes stay reserved in the budget until
/// <see cref="Release"/>.
/// </summary>
internal sealed class BufferedBody
{
    private const int PooledLimit = 1024 * 1024;
    private const int InitialChunk = 16 * 1024;

    private readonly ShadowBudget _budget;
    private readonly long _reserved;
    private byte[]? _buffer;

    private BufferedBody(byte[] buffer, int length, bool isComplete, ShadowBudget budget, long reserved)
    {
        _buffer = buffer;
        Length = length;
        IsComplete = isComplete;
        _budget = budget;
        _reserved = reserved;
    }

    public int Length { get; }

    /// <summary>
    /// False when the budget ran out before the end of the body: <see cref="Memory"/> then holds only the bytes read
    /// until then (possibly none), and the rest is still in the request.
    /// </summary>
    public bool IsComplete { get; }

    public ReadOnlyMemory<byte> Memory => Buffer.AsMemory(0, Length);

    private byte[] Buffer => _buffer ?? throw new ObjectDisposedException(nameof(BufferedBody));

    /// <summary>
    /// The body for the live request: a stream that can be rewound for a retry when the body is complete, otherwise
    /// the bytes read so far followed by the rest of <paramref name="rest"/> (the request's body stream).
    /// </summary>
    public Stream OpenRead(Stream rest) => IsComplete
        ? new MemoryStream(Buffer, 0, Length, writable: false)
        : Length == 0 ? rest : new PrefixedStream(Memory, rest);

    /// <summary>
    /// Reads the body, reserving its bytes in <paramref name="budget"/> first: the whole Content-Length up front, or
    /// chunk by chunk as the buffer grows when the length is unknown. Stops reading, with an incomplete body, where
    /// the budget has no room left. Throws <see cref="BadHttpRequestException"/> (413) past <paramref name="limit"/> bytes.
    /// </summary>
    public static async Task<BufferedBody> ReadAsync(HttpRequest request, int limit, ShadowBudget budget, CancellationToken cancellationToken)
    {
        var expected = request.ContentLength;
        if (expected > limit)
        {
            throw TooLarge(limit);
        }

        long reserved = expected is { } known ? (int)known : InitialChunk;
        if (!budget.TryReserve(reserved))
        {
            return new BufferedBody([], 0, isComplete: false, budget, reserved: 0);
        }

        byte[]? buffer = null;
        var length = 0;
        try
        {
            buffer = Rent((int)reserved);
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

                    var size = (int)Math.Min((long)buffer.Length * 2, limit);
                    if (!budget.TryReserve(size - reserved))
                    {
                        return new BufferedBody(buffer, length, isComplete: false, budget, reserved);
                    }

                    reserved = size;
                    var larger = Rent(size);
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

            return new BufferedBody(buffer, length, isComplete: true, budget, reserved);
        }
        catch
        {
            if (buffer is not null)
            {
                Return(buffer);
            }

            budget.Release(reserved);
            throw;
        }
    }

    /// <summary>Gives the buffer and its reservation back; the body is unusable afterwards. Safe to call more than once.</summary>
    public void Release()
    {
        if (Interlocked.Exchange(ref _buffer, null) is { } buffer)
        {
            Return(buffer);
            _budget.Release(_reserved);
        }
    }

    private static byte[] Rent(int size) => size <= PooledLimit
        ? ArrayPool<byte>.Shared.Rent(Math.Max(size, 1))
        : GC.AllocateUninitializedArray<byte>(size);

    private static void Return(byte[] buffer)
    {
        if (buffer.Length is > 0 and <= PooledLimit)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static BadHttpRequestException TooLarge(int limit) =>
        new($"The request body is larger than {limit} bytes.", StatusCodes.Status413PayloadTooLarge);

    /// <summary>The bytes buffered before the budget ran out, then the rest of the request body.</summary>
    private sealed class PrefixedStream(ReadOnlyMemory<byte> prefix, Stream rest) : Stream
    {
        private ReadOnlyMemory<byte> _prefix = prefix;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override int Read(Span<byte> buffer)
        {
            if (_prefix.IsEmpty)
            {
                return rest.Read(buffer);
            }

            return TakePrefix(buffer);
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            _prefix.IsEmpty ? rest.ReadAsync(buffer, cancellationToken) : ValueTask.FromResult(TakePrefix(buffer.Span));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        private int TakePrefix(Span<byte> buffer)
        {
            var count = Math.Min(buffer.Length, _prefix.Length);
            _prefix.Span[..count].CopyTo(buffer);
            _prefix = _prefix[count..];
            return count;
        }
    }
}
