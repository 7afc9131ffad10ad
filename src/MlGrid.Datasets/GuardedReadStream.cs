namespace MlGrid.Datasets;

/// <summary>
/// The spooled file as Parquet.Net reads it. Its page-header decoder reads -1 at the end of a stream as 0xFF and loops
/// forever, and it finds the next page by the size the last header gave, so a damaged size can send it back to the
/// same page again and again. Here the end of the file is an error, and each column chunk may read only a budget of
/// bytes (<see cref="Budget"/>, set before each chunk), so every read of damaged data ends.
/// </summary>
internal sealed class GuardedReadStream(Stream inner) : Stream
{
    /// <summary>Bytes that may still be read; unlimited until set.</summary>
    public long Budget { get; set; } = long.MaxValue;

    public override bool CanRead => true;

    public override bool CanSeek => true;

    public override bool CanWrite => false;

    public override long Length => inner.Length;

    public override long Position
    {
        get => inner.Position;
        set => inner.Position = value;
    }

    public override int ReadByte()
    {
        Spend(1);
        var b = inner.ReadByte();
        return b >= 0 ? b : throw new EndOfStreamException("the data runs past the end of the file");
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var read = inner.Read(buffer);
        Spend(read);
        return read;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var read = await inner.ReadAsync(buffer, cancellationToken);
        Spend(read);
        return read;
    }

    public override long Seek(long offset, SeekOrigin origin) => inner.Seek(offset, origin);

    public override void Flush()
    {
    }

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    private void Spend(long bytes)
    {
        Budget -= bytes;
        if (Budget < 0)
        {
            throw new InvalidDataException("its pages run far past the size the file metadata gives the column chunk");
        }
    }
}
