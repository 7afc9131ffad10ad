using System.Buffers;
using System.Text;
using System.Text.Unicode;

namespace MlGrid.Datasets;

/// <summary>
/// Profiles RFC 4180 CSV (UTF-8, optional BOM, comma-separated, double-quoted fields with "" escapes, CRLF, LF or CR
/// line ends, header row required) in one forward pass. Feed it chunks with <see cref="Append"/> (chunks may split
/// anywhere, even inside a character) and call <see cref="Complete"/>, or use <see cref="ProfileAsync"/> over a
/// stream. Memory depends on the number of columns and the longest field, not on the number of rows.
/// Blank lines are skipped; an empty field, quoted or not, is a missing value.
/// Errors are <see cref="DatasetFormatException"/>s naming the 1-based physical line.
/// </summary>
public sealed class CsvProfiler
{
    private const int ReadBufferBytes = 64 * 1024;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
    private static readonly SearchValues<byte> UnquotedStops = SearchValues.Create(","u8 + "\""u8 + "\r\n"u8);
    private static readonly SearchValues<byte> QuotedStops = SearchValues.Create("\"\r\n"u8);
    private static ReadOnlySpan<byte> Bom => [0xEF, 0xBB, 0xBF];

    private readonly ProfilerOptions _options;
    private readonly List<string> _names = [];
    private ColumnAccumulator[]? _columns;
    private byte[] _field = new byte[256];
    private int _fieldLength;
    private long _fieldLine = 1;
    private State _state;
    private int _bomMatched;
    private bool _afterCr;
    private bool _recordStarted;
    private long _recordLine = 1;
    private long _fieldIndex;
    private long _line = 1;
    private long _rows;
    private bool _done;

    public CsvProfiler(ProfilerOptions? options = null)
    {
        _options = options ?? ProfilerOptions.Default;
        _options.Validate();
    }

    private enum State
    {
        FieldStart,
        Unquoted,
        Quoted,
        QuoteInQuoted,
    }

    /// <summary>Reads <paramref name="utf8Csv"/> to its end and profiles it.</summary>
    public static Task<DatasetProfile> ProfileAsync(Stream utf8Csv, CancellationToken cancellationToken) =>
        ProfileAsync(utf8Csv, null, cancellationToken);

    /// <summary>Reads <paramref name="utf8Csv"/> to its end and profiles it under <paramref name="options"/>.</summary>
    public static async Task<DatasetProfile> ProfileAsync(
        Stream utf8Csv, ProfilerOptions? options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(utf8Csv);
        var profiler = new CsvProfiler(options);
        var buffer = ArrayPool<byte>.Shared.Rent(ReadBufferBytes);
        try
        {
            int read;
            while ((read = await utf8Csv.ReadAsync(buffer.AsMemory(0, ReadBufferBytes), cancellationToken)) > 0)
            {
                profiler.Append(buffer.AsSpan(0, read));
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return profiler.Complete();
    }

    /// <summary>Feeds the next bytes of the file.</summary>
    public void Append(ReadOnlySpan<byte> chunk)
    {
        ObjectDisposedException.ThrowIf(_done, this);
        try
        {
            // The BOM can arrive split over chunks; bytes that turn out not to be one are replayed as data.
            while (_bomMatched >= 0 && !chunk.IsEmpty)
            {
                if (_bomMatched == Bom.Length)
                {
                    _bomMatched = -1;
                }
                else if (chunk[0] == Bom[_bomMatched])
                {
                    _bomMatched++;
                    chunk = chunk[1..];
                }
                else
                {
                    var matched = _bomMatched;
                    _bomMatched = -1;
                    Consume(Bom[..matched]);
                }
            }

            Consume(chunk);
        }
        catch (DatasetFormatException)
        {
            _done = true;
            throw;
        }
    }

    /// <summary>Ends the file and returns its profile; the profiler takes no more input afterwards.</summary>
    public DatasetProfile Complete()
    {
        ObjectDisposedException.ThrowIf(_done, this);
        _done = true;
        if (_bomMatched is > 0 and < 3)
        {
            Consume(Bom[.._bomMatched]);
        }

        switch (_state)
        {
            case State.Quoted:
                throw new DatasetFormatException(_fieldLine, $"line {_fieldLine}: a quoted field is never closed");
            case State.Unquoted or State.QuoteInQuoted:
                EndField();
                EndRecord();
                break;
            case State.FieldStart when _recordStarted:
                EndField();
                EndRecord();
                break;
        }

        if (_columns is null)
        {
            throw new DatasetFormatException("the file is empty: a header row with column names is required");
        }

        return new DatasetProfile(_rows, [.. _columns.Select(c => c.ToProfile())]);
    }

    private void Consume(ReadOnlySpan<byte> bytes)
    {
        var i = 0;
        while (i < bytes.Length)
        {
            // Runs of ordinary bytes inside a field are copied in one go; only delimiters go through Step.
            if (_state is State.Unquoted or State.Quoted)
            {
                var rest = bytes[i..];
                var stop = rest.IndexOfAny(_state == State.Unquoted ? UnquotedStops : QuotedStops);
                var plain = stop < 0 ? rest.Length : stop;
                if (plain > 0)
                {
                    AppendToField(rest[..plain]);
                    _afterCr = false;
                    i += plain;
                    continue;
                }
            }

            Step(bytes[i]);
            i++;
        }
    }

    private void Step(byte b)
    {
        // The LF of a CRLF: the CR already ended the line (and the record, outside quotes).
        if (b == '\n' && _afterCr)
        {
            _afterCr = false;
            if (_state == State.Quoted)
            {
                AppendToField([b]);
            }

            return;
        }

        _afterCr = b == '\r';
        var lineEnd = b is (byte)'\r' or (byte)'\n';
        switch (_state)
        {
            case State.FieldStart:
                if (lineEnd)
                {
                    if (_recordStarted)
                    {
                        EndField();
                        EndRecord();
                    }

                    break;
                }

                if (!_recordStarted)
                {
                    _recordStarted = true;
                    _recordLine = _line;
                }

                _fieldLine = _line;
                if (b == ',')
                {
                    EndField();
                }
                else if (b == '"')
                {
                    _state = State.Quoted;
                }
                else
                {
                    AppendToField([b]);
                    _state = State.Unquoted;
                }

                break;
            case State.Unquoted:
                if (b == '"')
                {
                    throw new DatasetFormatException(
                        _line, $"line {_line}: a quote inside an unquoted field (quote the whole field and double the quote)");
                }

                EndField();
                if (lineEnd)
                {
                    EndRecord();
                }

                break;
            case State.Quoted:
                if (b == '"')
                {
                    _state = State.QuoteInQuoted;
                }
                else
                {
                    AppendToField([b]);
                }

                break;
            case State.QuoteInQuoted:
                if (b == '"')
                {
                    AppendToField([b]);
                    _state = State.Quoted;
                }
                else if (b == ',' || lineEnd)
                {
                    EndField();
                    if (lineEnd)
                    {
                        EndRecord();
                    }
                }
                else
                {
                    throw new DatasetFormatException(
                        _line, $"line {_line}: a closing quote must be followed by a comma or the end of the line");
                }

                break;
        }

        if (lineEnd)
        {
            _line++;
        }
    }

    private void AppendToField(ReadOnlySpan<byte> bytes)
    {
        var length = _fieldLength + bytes.Length;
        if (length > _options.MaxFieldBytes)
        {
            throw new DatasetFormatException(
                _line, $"line {_line}: a field is longer than {_options.MaxFieldBytes} bytes");
        }

        if (length > _field.Length)
        {
            Array.Resize(ref _field, (int)Math.Min(Math.Max(length, 2L * _field.Length), _options.MaxFieldBytes));
        }

        bytes.CopyTo(_field.AsSpan(_fieldLength));
        _fieldLength = length;
    }

    private void EndField()
    {
        if (_columns is null)
        {
            if (_names.Count == _options.MaxColumns)
            {
                throw new DatasetFormatException(
                    _recordLine, $"line {_recordLine}: the header has more than {_options.MaxColumns} columns");
            }

            _names.Add(Decode());
        }
        else if (_fieldIndex < _columns.Length)
        {
            _columns[_fieldIndex].Add(_fieldLength == 0 ? null : Decode());
        }

        // Fields past the header's count are still parsed, so the error can say how many the row has.
        _fieldIndex++;
        _fieldLength = 0;
        _state = State.FieldStart;
    }

    private void EndRecord()
    {
        if (_columns is null)
        {
            StartColumns();
        }
        else if (_fieldIndex != _columns.Length)
        {
            throw new DatasetFormatException(
                _recordLine,
                $"line {_recordLine} has {_fieldIndex} field{(_fieldIndex == 1 ? "" : "s")}; the header has {_columns.Length}");
        }
        else
        {
            _rows++;
        }

        _fieldIndex = 0;
        _recordStarted = false;
    }

    private void StartColumns()
    {
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < _names.Count; i++)
        {
            var name = _names[i];
            if (name.Length == 0)
            {
                throw new DatasetFormatException(_recordLine, $"line {_recordLine}: column {i + 1} of the header has no name");
            }

            if (!seen.TryAdd(name, i + 1))
            {
                throw new DatasetFormatException(
                    _recordLine, $"line {_recordLine}: column name '{name}' is used twice (columns {seen[name]} and {i + 1})");
            }
        }

        _columns = [.. _names.Select(n => new ColumnAccumulator(n, _options))];
        _names.Clear();
    }

    private string Decode()
    {
        var bytes = _field.AsSpan(0, _fieldLength);
        try
        {
            return StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            var line = _fieldLine + LineBreaks(bytes[..InvalidOffset(bytes)]);
            throw new DatasetFormatException(line, $"line {line}: the text is not valid UTF-8");
        }
    }

    private static int InvalidOffset(ReadOnlySpan<byte> bytes)
    {
        var chars = new char[bytes.Length];
        Utf8.ToUtf16(bytes, chars, out var read, out _, replaceInvalidSequences: false);
        return read;
    }

    private static long LineBreaks(ReadOnlySpan<byte> bytes)
    {
        long breaks = 0;
        for (var i = 0; i < bytes.Length; i++)
        {
            if (bytes[i] == '\n' ? i == 0 || bytes[i - 1] != '\r' : bytes[i] == '\r')
            {
                breaks++;
            }
        }

        return breaks;
    }
}
