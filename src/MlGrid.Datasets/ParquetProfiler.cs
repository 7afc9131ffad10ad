using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Numerics;
using System.Runtime.CompilerServices;
using Parquet;
using Parquet.Data;
using Parquet.File.Values.Primitives;
using Parquet.Meta.Proto;
using Parquet.Schema;

namespace MlGrid.Datasets;

/// <summary>
/// Profiles an Apache Parquet file from a seekable stream into the same <see cref="DatasetProfile"/> the CSV profiler
/// gives, through the same column accumulators. Parquet keeps its schema and row-group index in a footer at the end,
/// so the file must be whole (spooled) first; it is then read row group by row group, column by column, holding one
/// column chunk's values at a time (<see cref="ProfilerOptions.MaxColumnChunkBytes"/>).
/// <para>
/// Types come from the schema, not from the values. Integers of any width and sign (INT32, INT64, INT(8..64) logical
/// types) are <c>integer</c>; FLOAT, DOUBLE, FLOAT16 and DECIMAL are <c>float</c>; BOOLEAN is <c>boolean</c>;
/// everything else is <c>string</c> with values written as text: STRING/ENUM/JSON as they are, DATE as ISO-8601
/// <c>yyyy-MM-dd</c>, TIMESTAMP and INT96 as ISO-8601 date and time (<c>Z</c> when adjusted to UTC, to 100 ns), TIME as
/// <c>HH:mm:ss.fffffff</c> (trailing zeros dropped), UUID in its 36-character form, INTERVAL as an ISO-8601 duration,
/// and bytes without a text annotation as base64. Numbers are counted in the top values under the text CSV would
/// hold for them (shortest round-trip form, decimals with their scale), and a float's value is that text read back,
/// so a FLOAT 0.1 is 0.1, not 0.100000001. NaN and infinities are missing values (they would poison the mean and the
/// histogram); so is an empty string, as an empty CSV field is. A column of a numeric type with no values at all is
/// still reported with that type, without statistics.
/// </para>
/// <para>
/// Only flat columns (one value per row) are profiled: a file with a list, map, struct or repeated column is
/// refused, naming the column. Errors are <see cref="DatasetFormatException"/>s saying what is wrong and, for data
/// that cannot be read, in which row group (1-based) and column. The footer is checked before Parquet.Net reads it,
/// and every column chunk's reads are bounded (<see cref="ParquetFooter"/>, <see cref="GuardedReadStream"/>), so a
/// damaged file is refused rather than hanging or overflowing the stack.
/// </para>
/// </summary>
public static class ParquetProfiler
{
    private const string TimestampFormat = "yyyy-MM-dd'T'HH:mm:ss.FFFFFFF";
    private const string TimeFormat = @"hh\:mm\:ss\.FFFFFFF";

    /// <summary>Reads allowed per column chunk beyond twice its stated compressed size (page headers of a chunk that understates it).</summary>
    private const long ChunkReadSlack = 1024 * 1024;

    private static ReadOnlySpan<byte> Magic => "PAR1"u8;

    /// <summary>Profiles the Parquet file in <paramref name="parquet"/>, which must be readable and seekable.</summary>
    public static Task<DatasetProfile> ProfileAsync(Stream parquet, CancellationToken cancellationToken) =>
        ProfileAsync(parquet, null, cancellationToken);

    /// <summary>Profiles the Parquet file in <paramref name="parquet"/> under <paramref name="options"/>.</summary>
    public static Task<DatasetProfile> ProfileAsync(Stream parquet, ProfilerOptions? options, CancellationToken cancellationToken) =>
        ReadAsync(parquet, options, null, cancellationToken);

    /// <summary>
    /// Writes the Parquet file as CSV (a header row, then one line per row, fields quoted where they must be, a missing
    /// value as an empty field) with each value written as the profile counts it, so the CSV has the profile the
    /// Parquet file has. Holds one row group's fields at a time. Returns the profile.
    /// </summary>
    public static async Task<DatasetProfile> WriteCsvAsync(Stream parquet, TextWriter csv, ProfilerOptions? options, CancellationToken cancellationToken)
    {
        var headerWritten = false;
        return await ReadAsync(parquet, options, async (columns, rows) =>
        {
            if (!headerWritten)
            {
                await csv.WriteAsync(string.Join(",", columns.Select(c => CsvField(c.Field.Name))) + "\n");
                headerWritten = true;
            }

            var line = new System.Text.StringBuilder();
            for (var r = 0; r < rows; r++)
            {
                line.Clear();
                for (var c = 0; c < columns.Count; c++)
                {
                    if (c > 0)
                    {
                        line.Append(',');
                    }

                    line.Append(CsvField(columns[c].Accumulator.Cells![r]));
                }

                line.Append('\n');
                await csv.WriteAsync(line.ToString());
            }

            foreach (var column in columns)
            {
                column.Accumulator.Cells!.Clear();
            }
        }, cancellationToken);
    }

    private static string CsvField(string value) =>
        value.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : value;

    /// <summary>Reads every row group, one column chunk at a time; <paramref name="rowGroupRead"/> sees each group's cells when given.</summary>
    private static async Task<DatasetProfile> ReadAsync(
        Stream parquet, ProfilerOptions? options, Func<IReadOnlyList<Column>, int, Task>? rowGroupRead, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(parquet);
        if (!parquet.CanRead || !parquet.CanSeek)
        {
            throw new ArgumentException("The Parquet profiler needs a readable, seekable stream (its index is at the end).", nameof(parquet));
        }

        options ??= ProfilerOptions.Default;
        options.Validate();
        var footer = await ReadFooterAsync(parquet, options, cancellationToken);
        ParquetFooter.Read(footer);

        var guarded = new GuardedReadStream(parquet);
        ParquetReader reader;
        try
        {
            reader = await ParquetReader.CreateAsync(guarded, ReaderOptions(), leaveStreamOpen: true, cancellationToken);
        }
        catch (Exception ex) when (IsUnreadable(ex))
        {
            throw new DatasetFormatException($"the file metadata (footer) cannot be read: {Describe(ex)}", ex);
        }

        await using (reader)
        {
            ParquetSchema schema;
            try
            {
                // The schema is decoded from the footer on first use.
                schema = reader.Schema;
            }
            catch (Exception ex) when (IsUnreadable(ex))
            {
                throw new DatasetFormatException($"the schema in the file metadata cannot be read: {Describe(ex)}", ex);
            }

            var columns = Columns(schema, options);
            if (rowGroupRead is not null)
            {
                foreach (var column in columns)
                {
                    column.Accumulator.Cells = [];
                }
            }

            var groups = reader.RowGroupCount;
            long rows = 0;
            for (var g = 0; g < groups; g++)
            {
                var rowGroup = reader.OpenRowGroupReader(g);
                var where = $"row group {g + 1} of {groups}";
                var count = rowGroup.RowCount;
                if (count is < 0 or > int.MaxValue)
                {
                    throw new DatasetFormatException($"{where}: the file metadata gives it {count} rows; the file is corrupt");
                }

                foreach (var column in columns)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    var compressed = Math.Min(CheckChunk(rowGroup, column, (int)count, where, options), parquet.Length);
                    try
                    {
                        // Pages are found by following sizes in their headers; damaged sizes must not read forever.
                        guarded.Budget = (2 * compressed) + ChunkReadSlack;
                        await column.ReadAsync(rowGroup, (int)count, cancellationToken);
                    }
                    catch (Exception ex) when (IsUnreadable(ex))
                    {
                        throw new DatasetFormatException($"{where}, column '{column.Field.Name}': the data cannot be read: {Describe(ex)}", ex);
                    }
                }

                if (rowGroupRead is not null)
                {
                    await rowGroupRead(columns, (int)count);
                }

                rows += count;
            }

            return new DatasetProfile(rows, [.. columns.Select(c => c.Accumulator.ToProfile())]);
        }
    }

    private static ParquetOptions ReaderOptions() => new()
    {
        // Decimals of any precision (System.Decimal stops at 28 digits), dates without a time of day, INT96 as time.
        UseBigDecimal = true,
        UseDateOnlyTypeForDates = true,
        TreatBigIntegersAsDates = true,
        TreatByteArrayAsString = false,
    };

    /// <summary>
    /// Checks the 'PAR1' markers at both ends and that the footer length fits, and returns the footer: a file that is
    /// not Parquet, or was cut short, gets a message that says so rather than whatever breaks first.
    /// </summary>
    private static async Task<byte[]> ReadFooterAsync(Stream parquet, ProfilerOptions options, CancellationToken cancellationToken)
    {
        var length = parquet.Length;
        var buffer = new byte[8];
        if (length < 12)
        {
            throw new DatasetFormatException(
                $"the file is {length} bytes, too short to be Parquet (a Parquet file starts and ends with 'PAR1' around its data and metadata)");
        }

        parquet.Seek(0, SeekOrigin.Begin);
        await parquet.ReadExactlyAsync(buffer.AsMemory(0, 4), cancellationToken);
        if (!buffer.AsSpan(0, 4).SequenceEqual(Magic))
        {
            throw new DatasetFormatException("the file is not Parquet: it does not start with 'PAR1'");
        }

        parquet.Seek(-8, SeekOrigin.End);
        await parquet.ReadExactlyAsync(buffer, cancellationToken);
        if (!buffer.AsSpan(4, 4).SequenceEqual(Magic))
        {
            throw new DatasetFormatException(
                "the file does not end with 'PAR1': it is truncated, or not Parquet (a Parquet file keeps its metadata at the end)");
        }

        var footer = BinaryPrimitives.ReadInt32LittleEndian(buffer);
        if (footer <= 0 || footer > length - 12)
        {
            throw new DatasetFormatException(
                $"the footer length ({footer} bytes) does not fit in the {length}-byte file: it is truncated or corrupt");
        }

        if (footer > options.MaxFooterBytes)
        {
            throw new DatasetFormatException(
                $"the file metadata (footer) is {footer} bytes; at most {options.MaxFooterBytes} bytes are read");
        }

        var bytes = new byte[footer];
        parquet.Seek(-8 - footer, SeekOrigin.End);
        await parquet.ReadExactlyAsync(bytes, cancellationToken);
        parquet.Seek(0, SeekOrigin.Begin);
        return bytes;
    }

    private static List<Column> Columns(ParquetSchema schema, ProfilerOptions options)
    {
        var fields = schema.Fields;
        if (fields.Count == 0)
        {
            throw new DatasetFormatException("the file has no columns");
        }

        if (fields.Count > options.MaxColumns)
        {
            throw new DatasetFormatException($"the file has {fields.Count} columns; at most {options.MaxColumns} are profiled");
        }

        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        var columns = new List<Column>(fields.Count);
        for (var i = 0; i < fields.Count; i++)
        {
            var field = fields[i];
            if (string.IsNullOrEmpty(field.Name))
            {
                throw new DatasetFormatException($"column {i + 1} has no name");
            }

            if (!seen.TryAdd(field.Name, i + 1))
            {
                throw new DatasetFormatException($"column name '{field.Name}' is used twice (columns {seen[field.Name]} and {i + 1})");
            }

            var nested = field.SchemaType switch
            {
                SchemaType.List => "a list",
                SchemaType.Map => "a map",
                SchemaType.Struct => "a struct",
                _ => field is DataField { IsArray: true } || field.MaxRepetitionLevel > 0 ? "repeated" : null,
            };
            if (nested is not null || field is not DataField data)
            {
                throw new DatasetFormatException(NotFlat(field.Name, nested ?? "nested"));
            }

            columns.Add(Column.For(data, options));
        }

        return columns;
    }

    internal static string NotFlat(string column, string kind) =>
        $"column '{column}' is {kind}: only flat columns (one value per row) can be profiled; flatten it, or leave it out, before uploading";

    /// <summary>
    /// Refuses a chunk that is missing, disagrees with its row group, or would take more memory than allowed; returns
    /// its compressed size.
    /// </summary>
    private static long CheckChunk(ParquetRowGroupReader rowGroup, Column column, int rows, string where, ProfilerOptions options)
    {
        var name = column.Field.Name;
        var metadata = rowGroup.GetMetadata(column.Field)?.MetaData
            ?? throw new DatasetFormatException($"{where}: column '{name}' has no data in it; the file is corrupt");
        if (metadata.NumValues != rows)
        {
            throw new DatasetFormatException(
                $"{where}, column '{name}': the metadata gives {metadata.NumValues} values for {rows} rows; the file is corrupt");
        }

        var held = Math.Max(metadata.TotalUncompressedSize, (long)rows * column.BytesPerValue);
        if (held > options.MaxColumnChunkBytes)
        {
            throw new DatasetFormatException(
                $"{where}, column '{name}': the chunk needs {held} bytes in memory, over the {options.MaxColumnChunkBytes}-byte limit per column chunk; write the file with smaller row groups");
        }

        return Math.Max(0, metadata.TotalCompressedSize);
    }

    /// <summary>What a malformed file can make the library throw; cancellation, memory and our own errors pass through.</summary>
    private static bool IsUnreadable(Exception ex) =>
        ex is not (OperationCanceledException or OutOfMemoryException or DatasetFormatException);

    internal static string Describe(Exception ex) => ex switch
    {
        // These say what is wrong (bad header, unsupported codec or encoding, data cut short).
        ParquetException or ThriftProtocolException or IOException or InvalidDataException
            or NotSupportedException or NotImplementedException or InvalidOperationException => ex.Message,

        // Null references, bad indexes and casts say nothing to whoever sent the file.
        _ => "the file is corrupt",
    };

    /// <summary>A decimal as CSV would hold it: its digits, with the point <paramref name="scale"/> places from the right.</summary>
    internal static string DecimalText(BigInteger unscaled, int scale)
    {
        var digits = BigInteger.Abs(unscaled).ToString(CultureInfo.InvariantCulture);
        if (scale > 0)
        {
            digits = digits.PadLeft(scale + 1, '0');
            digits = string.Concat(digits.AsSpan(0, digits.Length - scale), ".", digits.AsSpan(digits.Length - scale));
        }
        else if (scale < 0 && !unscaled.IsZero)
        {
            digits += new string('0', -scale);
        }

        return unscaled.Sign < 0 ? "-" + digits : digits;
    }

    /// <summary>One column of the file: its field, its accumulator, and how its values become profile input.</summary>
    private abstract class Column(DataField dataField, ColumnAccumulator accumulator)
    {
        public DataField Field => dataField;

        public ColumnAccumulator Accumulator => accumulator;

        /// <summary>Memory per row while a chunk is read: the value and its definition level.</summary>
        public abstract int BytesPerValue { get; }

        public abstract ValueTask ReadAsync(ParquetRowGroupReader rowGroup, int rows, CancellationToken cancellationToken);

        public static Column For(DataField field, ProfilerOptions options)
        {
            var name = field.Name;
            var type = field.ClrType;
            if (field is TimeDataField time)
            {
                // TIME comes as the integer count of its unit since midnight.
                return time.Precision switch
                {
                    TimeUnitPrecision.Millis when type == typeof(int) =>
                        Text<int>(field, options, v => TimeSpan.FromMilliseconds(v).ToString(TimeFormat, CultureInfo.InvariantCulture)),
                    TimeUnitPrecision.Micros when type == typeof(long) =>
                        Text<long>(field, options, v => TimeSpan.FromMicroseconds(v).ToString(TimeFormat, CultureInfo.InvariantCulture)),
                    TimeUnitPrecision.Nanos when type == typeof(long) =>
                        Text<long>(field, options, v => new TimeSpan(v / 100).ToString(TimeFormat, CultureInfo.InvariantCulture)),
                    _ => throw Unsupported(field),
                };
            }

            return type switch
            {
                _ when type == typeof(bool) => new Column<bool>(field, new(name, options, ColumnAccumulator.Kind.Boolean), static (a, v) => a.AddBoolean(v)),
                _ when type == typeof(sbyte) => Integer<sbyte>(field, options, static v => v),
                _ when type == typeof(byte) => Integer<byte>(field, options, static v => v),
                _ when type == typeof(short) => Integer<short>(field, options, static v => v),
                _ when type == typeof(ushort) => Integer<ushort>(field, options, static v => v),
                _ when type == typeof(int) => Integer<int>(field, options, static v => v),
                _ when type == typeof(uint) => Integer<uint>(field, options, static v => v),
                _ when type == typeof(long) => Integer<long>(field, options, static v => v),
                _ when type == typeof(ulong) => Integer<ulong>(field, options, static v => v),
                _ when type == typeof(double) => new Column<double>(field, Numeric(field, options, ColumnAccumulator.Kind.Float), static (a, v) =>
                {
                    if (double.IsFinite(v))
                    {
                        a.AddNumber(v, v.ToString(CultureInfo.InvariantCulture));
                    }
                    else
                    {
                        a.AddMissing();
                    }
                }),
                _ when type == typeof(float) => Real<float>(field, options, static v => float.IsFinite(v) ? v.ToString(CultureInfo.InvariantCulture) : null),
                _ when type == typeof(Half) => Real<Half>(field, options, static v => Half.IsFinite(v) ? v.ToString(CultureInfo.InvariantCulture) : null),
                _ when type == typeof(BigDecimal) => Real<BigDecimal>(field, options, static v => DecimalText(v.UnscaledValue, v.Scale)),
                _ when type == typeof(decimal) => Real<decimal>(field, options, static v => v.ToString(CultureInfo.InvariantCulture)),
                _ when type == typeof(ReadOnlyMemory<char>) => Text<ReadOnlyMemory<char>>(field, options, static v => new string(v.Span)),
                _ when type == typeof(ReadOnlyMemory<byte>) => Text<ReadOnlyMemory<byte>>(field, options, v => Base64(v.Span, options.MaxValueLength)),
                _ when type == typeof(DateTime) => Text<DateTime>(field, options, Timestamp),
                _ when type == typeof(DateOnly) => Text<DateOnly>(field, options, static v => v.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)),
                _ when type == typeof(Guid) => Text<Guid>(field, options, static v => v.ToString("D", CultureInfo.InvariantCulture)),
                _ when type == typeof(Interval) => Text<Interval>(field, options, static v => string.Create(CultureInfo.InvariantCulture,
                    $"P{v.Months}M{v.Days}DT{v.Millis / 1000m}S")),
                _ => throw Unsupported(field),
            };
        }

        private static DatasetFormatException Unsupported(DataField field) =>
            new($"column '{field.Name}' has a type that cannot be profiled ({field.SchemaElement?.Type}, read as {field.ClrType.Name})");

        private static ColumnAccumulator Numeric(DataField field, ProfilerOptions options, ColumnAccumulator.Kind kind) => new(field.Name, options, kind);

        private static Column<T> Integer<T>(DataField field, ProfilerOptions options, Func<T, double> value)
            where T : struct, IFormattable =>
            new(field, Numeric(field, options, ColumnAccumulator.Kind.Integer), (a, v) => a.AddNumber(value(v), v.ToString(null, CultureInfo.InvariantCulture)));

        /// <summary>A real number counted under its text and valued as that text read back, as a CSV field would be; null text is missing.</summary>
        private static Column<T> Real<T>(DataField field, ProfilerOptions options, Func<T, string?> text)
            where T : struct =>
            new(field, Numeric(field, options, ColumnAccumulator.Kind.Float), (a, v) =>
            {
                var written = text(v);
                if (written is not null && double.TryParse(written, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && double.IsFinite(number))
                {
                    a.AddNumber(number, written);
                }
                else
                {
                    a.AddMissing();
                }
            });

        private static Column<T> Text<T>(DataField field, ProfilerOptions options, Func<T, string> text)
            where T : struct =>
            new(field, new(field.Name, options, ColumnAccumulator.Kind.String), (a, v) => a.AddText(text(v)));

        /// <summary>
        /// ISO-8601 date and time, with <c>Z</c> for an instant (adjusted to UTC); a timestamp not adjusted to UTC is a
        /// wall-clock time (the library marks it local, without shifting it) and gets no offset.
        /// </summary>
        private static string Timestamp(DateTime value)
        {
            var text = value.ToString(TimestampFormat, CultureInfo.InvariantCulture);
            return value.Kind == DateTimeKind.Utc ? text + "Z" : text;
        }

        /// <summary>Base64 of the first bytes only: enough for the top values' length limit to cut it (and add its ellipsis).</summary>
        private static string Base64(ReadOnlySpan<byte> bytes, int maxLength)
        {
            var enough = ((maxLength / 4) + 1) * 3;
            return Convert.ToBase64String(bytes.Length > enough ? bytes[..enough] : bytes);
        }
    }

    private sealed class Column<T>(DataField dataField, ColumnAccumulator accumulator, Action<ColumnAccumulator, T> add)
        : Column(dataField, accumulator)
        where T : struct
    {
        public override int BytesPerValue => Unsafe.SizeOf<T>() + (Field.MaxDefinitionLevel > 0 ? sizeof(int) : 0);

        public override async ValueTask ReadAsync(ParquetRowGroupReader rowGroup, int rows, CancellationToken cancellationToken)
        {
            var values = ArrayPool<T>.Shared.Rent(rows);
            var levels = Field.MaxDefinitionLevel > 0 ? ArrayPool<int>.Shared.Rent(rows) : null;
            try
            {
                await rowGroup.ReadRawAsync(Field, values.AsMemory(0, rows), levels?.AsMemory(0, rows), null, cancellationToken);
                Add(values, levels, rows);
            }
            finally
            {
                ArrayPool<T>.Shared.Return(values, clearArray: RuntimeHelpers.IsReferenceOrContainsReferences<T>());
                if (levels is not null)
                {
                    ArrayPool<int>.Shared.Return(levels);
                }
            }
        }

        /// <summary>Values come packed, nulls left out; a definition level below the maximum marks a row's null.</summary>
        private void Add(T[] values, int[]? levels, int rows)
        {
            var defined = Field.MaxDefinitionLevel;
            var next = 0;
            for (var i = 0; i < rows; i++)
            {
                if (levels is not null && levels[i] < defined)
                {
                    Accumulator.AddMissing();
                }
                else
                {
                    add(Accumulator, values[next++]);
                }
            }
        }
    }
}
