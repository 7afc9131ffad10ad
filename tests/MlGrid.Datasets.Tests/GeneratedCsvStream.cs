using System.Globalization;
using System.Text;

namespace MlGrid.Datasets.Tests;

/// <summary>A read-only stream of <c>rows</c> generated CSV rows, so a large file never exists in memory.</summary>
internal sealed class GeneratedCsvStream(long rows) : Stream
{
    private static readonly string[] Labels = [.. Enumerable.Range(0, 50).Select(i => $"label{i}")];

    private readonly byte[] _pending = new byte[256];
    private int _pendingAt;
    private int _pendingLength;
    private long _row = -1;

    public long RowsWritten => Math.Max(0, _row);

    public long BytesWritten { get; private set; }

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
            if (_pendingAt == _pendingLength && !NextLine())
            {
                break;
            }

            var take = Math.Min(buffer.Length - written, _pendingLength - _pendingAt);
            _pending.AsSpan(_pendingAt, take).CopyTo(buffer[written..]);
            _pendingAt += take;
            written += take;
        }

        BytesWritten += written;
        return written;
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    private bool NextLine()
    {
        if (_row >= rows)
        {
            return false;
        }

        var line = _row < 0
            ? "id,value,label,note\n"
            : string.Create(CultureInfo.InvariantCulture, $"{_row},{(_row % 1000) / 8.0},{Labels[_row % Labels.Length]},{(_row % 3 == 0 ? "" : "\"a, b\"")}\n");
        _row++;
        _pendingAt = 0;
        _pendingLength = Encoding.UTF8.GetBytes(line, _pending);
        return true;
    }
}
