using System.Globalization;
using System.Text;

namespace MlGrid.Bench.Datasets;

/// <summary>
/// A read-only stream of CSV rows made as they are read, until at least <c>targetBytes</c> have been produced (the
/// last row is finished): a 1 GB upload body that never exists in memory or on disk.
/// Columns: <c>id</c> (integer), <c>value</c> (float), <c>label</c> (50 strings), <c>flag</c> (boolean), <c>note</c>
/// (a quoted field holding a comma, missing in every fifth row).
/// </summary>
internal sealed class GeneratedCsvStream(long targetBytes) : Stream
{
    private static readonly byte[][] Labels = [.. Enumerable.Range(0, 50).Select(i => Encoding.UTF8.GetBytes($"label-{i:D2}"))];
    private static readonly byte[] Header = "id,value,label,flag,note\n"u8.ToArray();

    private readonly byte[] _row = new byte[256];
    private int _rowAt;
    private int _rowLength;
    private bool _headerDone;
    private long _produced;

    /// <summary>Data rows produced so far (the header is not one).</summary>
    public long Rows { get; private set; }

    public long BytesRead { get; private set; }

    /// <summary>The Stopwatch timestamp at which the reader reached the end, or 0 before.</summary>
    public long EndedAt { get; private set; }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var written = 0;
        while (written < buffer.Length)
        {
            if (_rowAt == _rowLength && !NextRow())
            {
                break;
            }

            var take = Math.Min(buffer.Length - written, _rowLength - _rowAt);
            _row.AsSpan(_rowAt, take).CopyTo(buffer[written..]);
            _rowAt += take;
            written += take;
        }

        BytesRead += written;
        if (written == 0 && buffer.Length > 0 && EndedAt == 0)
        {
            EndedAt = System.Diagnostics.Stopwatch.GetTimestamp();
        }

        return written;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(Read(buffer.Span));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        Task.FromResult(Read(buffer.AsSpan(offset, count)));

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    private bool NextRow()
    {
        _rowAt = 0;
        if (!_headerDone)
        {
            _headerDone = true;
            Header.CopyTo(_row, 0);
            _rowLength = Header.Length;
            _produced += _rowLength;
            return true;
        }

        if (_produced >= targetBytes)
        {
            _rowLength = 0;
            return false;
        }

        var row = Rows++;
        var span = _row.AsSpan();
        var at = 0;
        row.TryFormat(span, out var n, default, CultureInfo.InvariantCulture);
        at += n;
        span[at++] = (byte)',';
        ((row % 100_000) / 8.0).TryFormat(span[at..], out n, default, CultureInfo.InvariantCulture);
        at += n;
        span[at++] = (byte)',';
        Labels[row % Labels.Length].CopyTo(span[at..]);
        at += Labels[row % Labels.Length].Length;
        span[at++] = (byte)',';
        var flag = row % 3 == 0 ? "true"u8 : "false"u8;
        flag.CopyTo(span[at..]);
        at += flag.Length;
        span[at++] = (byte)',';
        if (row % 5 != 0)
        {
            "\"a, b\""u8.CopyTo(span[at..]);
            at += 6;
        }

        span[at++] = (byte)'\n';
        _rowLength = at;
        _produced += at;
        return true;
    }
}
