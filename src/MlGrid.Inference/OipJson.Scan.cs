using System.Text;
using System.Text.Json;
using Microsoft.ML.OnnxRuntime;

namespace MlGrid.Inference;

/// <summary>
/// The reading half of <see cref="OipJson"/>: one forward pass over a request that records what each property holds,
/// for the checks to judge afterwards, and parses <c>data</c> into typed arrays on the way.
/// </summary>
public static partial class OipJson
{
    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = MaxDepth };

    /// <summary>
    /// The first length of an array grown as its elements arrive; it doubles from there, up to the shape's count. Small,
    /// so that many inputs with one element each cannot make a body allocate far more than its size.
    /// </summary>
    private const int MinGrownLength = 16;

    /// <summary>The powers of ten a double holds exactly.</summary>
    private static readonly double[] PowersOfTen =
    [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ];

    /// <summary>A scalar property as found: its token, its text when a string, its value when an integer, and its JSON text.</summary>
    private readonly record struct Token(JsonTokenType Type, string? Text, long? Integer, string Raw)
    {
        /// <summary>Present and not null.</summary>
        public bool IsGiven => Type is not (JsonTokenType.None or JsonTokenType.Null);

        /// <summary>Reads the value the reader is on, skipping past it when it is an object or array.</summary>
        public static Token Read(ReadOnlySpan<byte> json, ref Utf8JsonReader reader)
        {
            var type = reader.TokenType;
            var text = type == JsonTokenType.String ? GetString(ref reader) : null;
            long? integer = type == JsonTokenType.Number && reader.TryGetInt64(out var value) ? value : null;
            return new Token(type, text, integer, RawText(json, ref reader));
        }
    }

    /// <summary>A shape array: how many entries it has, the first that is not a valid dimension, and the dimensions.</summary>
    private sealed record ShapeScan(int Rank, string? FirstInvalidDim, long[] Dims);

    /// <summary>Where an input's <c>data</c> lies in the body, and its parse when datatype and shape came before it.</summary>
    private sealed record DataRange(int Start, int End, DataScan? Scan);

    /// <summary>
    /// The outcome of reading <c>data</c> for a datatype and shape: how many leaves it has, whether its nesting follows
    /// the shape, the first leaf that is not a value of the datatype, and the values (exactly the shape's count when the
    /// leaves are, otherwise possibly fewer).
    /// </summary>
    private sealed record DataScan(string Datatype, long[] Shape, long Leaves, bool NestingMatches, int InvalidIndex, string? InvalidText, Array Values);

    /// <summary>
    /// How many elements a request may still have allocated before its data shows them. An element takes at least two
    /// bytes of the body with its separator or brackets, so all the data a request holds fits in half its length; a
    /// shape that claims more than is left (many inputs with huge shapes and little data) gets an array that grows as
    /// its elements arrive instead.
    /// </summary>
    private sealed class ElementBudget(int bodyLength)
    {
        private long _left = (bodyLength / 2) + 1;

        public bool TryTake(long count)
        {
            if (count > _left)
            {
                return false;
            }

            _left -= count;
            return true;
        }
    }

    private sealed class InputScan
    {
        public bool IsObject { get; init; }

        public Token Name { get; set; }

        public Token Datatype { get; set; }

        public ShapeScan? Shape { get; set; }

        public DataRange? Data { get; set; }

        public Token BinaryDataSize { get; set; }

        public static InputScan Read(ReadOnlySpan<byte> json, ref Utf8JsonReader reader, ElementBudget budget)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                reader.Skip();
                return new InputScan { IsObject = false };
            }

            // A property given twice counts once, as its last occurrence.
            var input = new InputScan { IsObject = true };
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("name"u8))
                {
                    reader.Read();
                    input.Name = Token.Read(json, ref reader);
                }
                else if (reader.ValueTextEquals("datatype"u8))
                {
                    reader.Read();
                    input.Datatype = Token.Read(json, ref reader);
                }
                else if (reader.ValueTextEquals("shape"u8))
                {
                    reader.Read();
                    input.Shape = ReadShape(json, ref reader);
                }
                else if (reader.ValueTextEquals("data"u8))
                {
                    reader.Read();
                    input.Data = input.ReadData(json, ref reader, budget);
                }
                else if (reader.ValueTextEquals("parameters"u8))
                {
                    reader.Read();
                    input.BinaryDataSize = ReadParameter(json, ref reader, "binary_data_size"u8);
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }

            return input;
        }

        private DataRange ReadData(ReadOnlySpan<byte> json, ref Utf8JsonReader reader, ElementBudget budget)
        {
            var start = (int)reader.TokenStartIndex;
            DataScan? scan = null;
            if (Datatype.Text is { } datatype && Datatypes.IsKnown(datatype)
                && Shape is { FirstInvalidDim: null, Rank: <= MaxRank } shape && TryCount(shape.Dims, out var expected))
            {
                scan = Scan(json, ref reader, datatype, shape.Dims, expected, budget);
            }
            else
            {
                reader.Skip();
            }

            return new DataRange(start, (int)reader.BytesConsumed, scan);
        }
    }

    private sealed class OutputScan
    {
        public bool IsObject { get; init; }

        public Token Name { get; set; }

        public Token BinaryData { get; set; }

        public static OutputScan Read(ReadOnlySpan<byte> json, ref Utf8JsonReader reader)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                reader.Skip();
                return new OutputScan { IsObject = false };
            }

            var output = new OutputScan { IsObject = true };
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("name"u8))
                {
                    reader.Read();
                    output.Name = Token.Read(json, ref reader);
                }
                else if (reader.ValueTextEquals("parameters"u8))
                {
                    reader.Read();
                    output.BinaryData = ReadParameter(json, ref reader, "binary_data"u8);
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }

            return output;
        }
    }

    private sealed class RequestScan
    {
        public JsonTokenType Root { get; private set; }

        public Token Id { get; private set; }

        /// <summary>The inputs, or null when 'inputs' is missing or not an array.</summary>
        public List<InputScan>? Inputs { get; private set; }

        public JsonTokenType OutputsType { get; private set; }

        /// <summary>The requested outputs, or null when 'outputs' is missing or not an array.</summary>
        public List<OutputScan>? Outputs { get; private set; }

        public Token BinaryDataOutput { get; private set; }

        /// <summary>Reads a whole body; a <see cref="JsonException"/> when it is not one valid JSON value.</summary>
        public static RequestScan Read(ReadOnlySpan<byte> json, ElementBudget budget)
        {
            var reader = new Utf8JsonReader(json, ReaderOptions);
            if (!reader.Read())
            {
                throw new JsonException("The input does not contain any JSON tokens.");
            }

            var scan = new RequestScan { Root = reader.TokenType };
            if (reader.TokenType == JsonTokenType.StartObject)
            {
                scan.ReadRoot(json, ref reader, budget);
            }
            else
            {
                reader.Skip();
            }

            // The reader throws on anything but whitespace after the value.
            if (reader.Read())
            {
                throw new JsonException("The body holds more than one JSON value.");
            }

            return scan;
        }

        private void ReadRoot(ReadOnlySpan<byte> json, ref Utf8JsonReader reader, ElementBudget budget)
        {
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("id"u8))
                {
                    reader.Read();
                    Id = Token.Read(json, ref reader);
                }
                else if (reader.ValueTextEquals("inputs"u8))
                {
                    reader.Read();
                    Inputs = ReadArray(json, ref reader, (ReadOnlySpan<byte> body, ref Utf8JsonReader item) => InputScan.Read(body, ref item, budget));
                }
                else if (reader.ValueTextEquals("outputs"u8))
                {
                    reader.Read();
                    OutputsType = reader.TokenType;
                    Outputs = ReadArray(json, ref reader, OutputScan.Read);
                }
                else if (reader.ValueTextEquals("parameters"u8))
                {
                    reader.Read();
                    BinaryDataOutput = ReadParameter(json, ref reader, "binary_data_output"u8);
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }
        }
    }

    private delegate T ItemReader<out T>(ReadOnlySpan<byte> json, ref Utf8JsonReader reader);

    /// <summary>The items of the array the reader is on, or null (and the value skipped) when it is not an array.</summary>
    private static List<T>? ReadArray<T>(ReadOnlySpan<byte> json, ref Utf8JsonReader reader, ItemReader<T> readItem)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            reader.Skip();
            return null;
        }

        var items = new List<T>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            items.Add(readItem(json, ref reader));
        }

        return items;
    }

    /// <summary>One property of a <c>parameters</c> object; the others, and a <c>parameters</c> that is no object, are ignored.</summary>
    private static Token ReadParameter(ReadOnlySpan<byte> json, ref Utf8JsonReader reader, ReadOnlySpan<byte> name)
    {
        var found = default(Token);
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return found;
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var wanted = reader.ValueTextEquals(name);
            reader.Read();
            if (wanted)
            {
                found = Token.Read(json, ref reader);
            }
            else
            {
                reader.Skip();
            }
        }

        return found;
    }

    private static ShapeScan? ReadShape(ReadOnlySpan<byte> json, ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            reader.Skip();
            return null;
        }

        var dims = new List<long>();
        var rank = 0;
        string? firstInvalid = null;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            rank++;
            if (reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var dim) && dim >= 0 && dim <= int.MaxValue)
            {
                if (rank <= MaxRank)
                {
                    dims.Add(dim);
                }
            }
            else
            {
                var raw = RawText(json, ref reader);
                firstInvalid ??= raw;
            }
        }

        return new ShapeScan(rank, firstInvalid, [.. dims]);
    }

    private static bool TryCount(long[] shape, out long count)
    {
        count = 1;
        foreach (var dim in shape)
        {
            if (dim != 0 && count > long.MaxValue / dim)
            {
                return false;
            }

            count *= dim;
        }

        return true;
    }

    /// <summary>Reads <c>data</c> that came before its input's datatype or shape, once both are known.</summary>
    private static DataScan Rescan(ReadOnlySpan<byte> data, string datatype, long[] shape, long expected, ElementBudget budget)
    {
        var reader = new Utf8JsonReader(data, ReaderOptions);
        reader.Read();
        return Scan(data, ref reader, datatype, shape, expected, budget);
    }

    private static DataScan Scan(ReadOnlySpan<byte> json, ref Utf8JsonReader reader, string datatype, long[] shape, long expected, ElementBudget budget) => datatype switch
    {
        // By datatype, not array type: the runtime lets sbyte[] pass as byte[] and so on.
        Datatypes.Bool => Scan<bool, BoolElement>(json, ref reader, datatype, shape, expected, budget),
        Datatypes.UInt8 => Scan<byte, UInt8Element>(json, ref reader, datatype, shape, expected, budget),
        Datatypes.UInt16 => Scan<ushort, UInt16Element>(json, ref reader, datatype, shape, expected, budget),
        Datatypes.UInt32 => Scan<uint, UInt32Element>(json, ref reader, datatype, shape, expected, budget),
        Datatypes.UInt64 => Scan<ulong, UInt64Element>(json, ref reader, datatype, shape, expected, budget),
        Datatypes.Int8 => Scan<sbyte, Int8Element>(json, ref reader, datatype, shape, expected, budget),
        Datatypes.Int16 => Scan<short, Int16Element>(json, ref reader, datatype, shape, expected, budget),
        Datatypes.Int32 => Scan<int, Int32Element>(json, ref reader, datatype, shape, expected, budget),
        Datatypes.Int64 => Scan<long, Int64Element>(json, ref reader, datatype, shape, expected, budget),
        Datatypes.Fp16 => Scan<Float16, Fp16Element>(json, ref reader, datatype, shape, expected, budget),
        Datatypes.Fp32 => Scan<float, Fp32Element>(json, ref reader, datatype, shape, expected, budget),
        Datatypes.Fp64 => Scan<double, Fp64Element>(json, ref reader, datatype, shape, expected, budget),
        Datatypes.Bytes => Scan<string, BytesElement>(json, ref reader, datatype, shape, expected, budget),
        _ => throw new ArgumentOutOfRangeException(nameof(datatype), datatype, "Unknown datatype."),
    };

    /// <summary>
    /// Reads the <c>data</c> value the reader is on, leaving the reader on its last token. Data is accepted as a
    /// single value, a flat array, or arrays nested exactly by the shape; leaves (objects included) count as elements.
    /// </summary>
    private static DataScan Scan<T, TElement>(
        ReadOnlySpan<byte> json, ref Utf8JsonReader reader, string datatype, long[] shape, long expected, ElementBudget budget)
        where TElement : IElementReader<T>
    {
        // A shape's count is only a claim: it is allocated up front while the request's budget covers it, which it does
        // for data that holds its elements, and otherwise grown into as elements arrive.
        var values = budget.TryTake(expected) ? new T[expected] : [];
        var isArray = reader.TokenType == JsonTokenType.StartArray;
        Span<int> children = stackalloc int[MaxDepth + 1];
        var depth = -1;
        var leaves = 0;
        var invalidIndex = -1;
        string? invalidText = null;
        var childArrays = false;
        var nested = true;
        do
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.StartArray:
                    if (depth >= 0)
                    {
                        children[depth]++;
                        childArrays |= depth == 0;
                    }

                    depth++;
                    children[depth] = 0;
                    nested &= depth < shape.Length;
                    break;

                case JsonTokenType.EndArray:
                    nested &= depth >= shape.Length || children[depth] == shape[depth];
                    depth--;
                    break;

                default:
                    if (depth >= 0)
                    {
                        children[depth]++;
                    }

                    nested &= depth + 1 == shape.Length;
                    if (leaves == values.Length && leaves < expected)
                    {
                        Array.Resize(ref values, (int)Math.Min(expected, Math.Max(MinGrownLength, 2L * leaves)));
                    }

                    if (leaves < values.Length && !TElement.TryRead(ref reader, out values[leaves]) && invalidIndex < 0)
                    {
                        invalidIndex = leaves;
                        invalidText = RawText(json, ref reader);
                    }
                    else if (reader.TokenType == JsonTokenType.StartObject)
                    {
                        reader.Skip();
                    }

                    leaves++;
                    break;
            }
        }
        while (depth >= 0 && reader.Read());

        // Flat data (no array inside the outer one) always follows the shape; nested data must nest level by level.
        var nestingMatches = !isArray || !childArrays || nested;
        return new DataScan(datatype, shape, leaves, nestingMatches, invalidIndex, invalidText, values);
    }

    /// <summary>The JSON text of the value the reader is on; an object or array is skipped to its end.</summary>
    private static string RawText(ReadOnlySpan<byte> json, ref Utf8JsonReader reader)
    {
        var start = (int)reader.TokenStartIndex;
        if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
        {
            reader.Skip();
        }

        return Encoding.UTF8.GetString(json[start..(int)reader.BytesConsumed]);
    }

    private static string GetString(ref Utf8JsonReader reader)
    {
        try
        {
            return reader.GetString()!;
        }
        catch (InvalidOperationException ex)
        {
            throw new InferenceInputException($"The request has a string that is not valid UTF-8 at byte {reader.TokenStartIndex}.", ex);
        }
    }

    /// <summary>A finite value must stay finite in the narrower type: 1e39 is not an FP32.</summary>
    private static bool Fits(float narrowed, double value) => float.IsFinite(narrowed) || !double.IsFinite(value);

    private static bool TryInteger(ref Utf8JsonReader reader, long min, long max, out long value)
    {
        value = 0;
        return reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out value) && value >= min && value <= max;
    }

    private static bool TryReal(ref Utf8JsonReader reader, out double value)
    {
        if (reader.TokenType == JsonTokenType.Number)
        {
            // The reader turns 1e400 into infinity; a number token must stay a finite number.
            return TryParseShortDecimal(reader.ValueSpan, out value) || (reader.TryGetDouble(out value) && double.IsFinite(value));
        }

        // JSON has no NaN or infinities; they travel as these strings both ways.
        value = reader.TokenType != JsonTokenType.String ? 0
            : reader.ValueTextEquals("NaN"u8) ? double.NaN
            : reader.ValueTextEquals("Infinity"u8) ? double.PositiveInfinity
            : reader.ValueTextEquals("-Infinity"u8) ? double.NegativeInfinity
            : 0;
        return !double.IsFinite(value);
    }

    /// <summary>
    /// Parses the numbers tensors are mostly made of (at most 15 digits, a power of ten within 22) as one exact
    /// multiplication or division, which IEEE rounds correctly: the same double as the general parser, in a fraction of
    /// its time. Anything else is left to the general parser. The reader has already checked the JSON number syntax.
    /// </summary>
    private static bool TryParseShortDecimal(ReadOnlySpan<byte> text, out double value)
    {
        value = 0;
        var i = 0;
        var negative = text[0] == (byte)'-';
        if (negative)
        {
            i++;
        }

        ulong mantissa = 0;
        var digits = 0;
        var scale = 0;
        for (; i < text.Length && (uint)(text[i] - '0') <= 9; i++, digits++)
        {
            mantissa = (mantissa * 10) + (uint)(text[i] - '0');
        }

        if (i < text.Length && text[i] == (byte)'.')
        {
            for (i++; i < text.Length && (uint)(text[i] - '0') <= 9; i++, digits++, scale--)
            {
                mantissa = (mantissa * 10) + (uint)(text[i] - '0');
            }
        }

        if (i < text.Length)
        {
            // An exponent: 'e' or 'E', an optional sign, digits.
            i++;
            var exponentNegative = text[i] == (byte)'-';
            if (text[i] is (byte)'-' or (byte)'+')
            {
                i++;
            }

            var exponent = 0;
            for (; i < text.Length; i++)
            {
                exponent = (exponent * 10) + (text[i] - '0');
                if (exponent > PowersOfTen.Length)
                {
                    return false;
                }
            }

            scale += exponentNegative ? -exponent : exponent;
        }

        if (digits > 15 || scale < -(PowersOfTen.Length - 1) || scale > PowersOfTen.Length - 1)
        {
            return false;
        }

        // Both operands are exact doubles (a mantissa below 2^53, a power of ten up to 1e22): one rounding.
        value = scale < 0 ? mantissa / PowersOfTen[-scale] : mantissa * PowersOfTen[scale];
        if (negative)
        {
            value = -value;
        }

        return true;
    }

    /// <summary>Reads one element of a datatype; a struct per datatype so the generic scan compiles to a tight loop for each.</summary>
    private interface IElementReader<T>
    {
        static abstract bool TryRead(ref Utf8JsonReader reader, out T value);
    }

    private readonly struct BoolElement : IElementReader<bool>
    {
        public static bool TryRead(ref Utf8JsonReader reader, out bool value)
        {
            value = reader.TokenType == JsonTokenType.True;
            return reader.TokenType is JsonTokenType.True or JsonTokenType.False;
        }
    }

    private readonly struct UInt8Element : IElementReader<byte>
    {
        public static bool TryRead(ref Utf8JsonReader reader, out byte value)
        {
            var ok = TryInteger(ref reader, byte.MinValue, byte.MaxValue, out var v);
            value = (byte)v;
            return ok;
        }
    }

    private readonly struct UInt16Element : IElementReader<ushort>
    {
        public static bool TryRead(ref Utf8JsonReader reader, out ushort value)
        {
            var ok = TryInteger(ref reader, ushort.MinValue, ushort.MaxValue, out var v);
            value = (ushort)v;
            return ok;
        }
    }

    private readonly struct UInt32Element : IElementReader<uint>
    {
        public static bool TryRead(ref Utf8JsonReader reader, out uint value)
        {
            var ok = TryInteger(ref reader, uint.MinValue, uint.MaxValue, out var v);
            value = (uint)v;
            return ok;
        }
    }

    private readonly struct UInt64Element : IElementReader<ulong>
    {
        public static bool TryRead(ref Utf8JsonReader reader, out ulong value)
        {
            value = 0;
            return reader.TokenType == JsonTokenType.Number && reader.TryGetUInt64(out value);
        }
    }

    private readonly struct Int8Element : IElementReader<sbyte>
    {
        public static bool TryRead(ref Utf8JsonReader reader, out sbyte value)
        {
            var ok = TryInteger(ref reader, sbyte.MinValue, sbyte.MaxValue, out var v);
            value = (sbyte)v;
            return ok;
        }
    }

    private readonly struct Int16Element : IElementReader<short>
    {
        public static bool TryRead(ref Utf8JsonReader reader, out short value)
        {
            var ok = TryInteger(ref reader, short.MinValue, short.MaxValue, out var v);
            value = (short)v;
            return ok;
        }
    }

    private readonly struct Int32Element : IElementReader<int>
    {
        public static bool TryRead(ref Utf8JsonReader reader, out int value)
        {
            var ok = TryInteger(ref reader, int.MinValue, int.MaxValue, out var v);
            value = (int)v;
            return ok;
        }
    }

    private readonly struct Int64Element : IElementReader<long>
    {
        public static bool TryRead(ref Utf8JsonReader reader, out long value)
        {
            value = 0;
            return reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out value);
        }
    }

    private readonly struct Fp16Element : IElementReader<Float16>
    {
        public static bool TryRead(ref Utf8JsonReader reader, out Float16 value)
        {
            var ok = TryReal(ref reader, out var v) && Fits((float)(Float16)(float)v, v);
            value = ok ? (Float16)(float)v : default;
            return ok;
        }
    }

    private readonly struct Fp32Element : IElementReader<float>
    {
        public static bool TryRead(ref Utf8JsonReader reader, out float value)
        {
            var ok = TryReal(ref reader, out var v) && Fits((float)v, v);
            value = (float)v;
            return ok;
        }
    }

    private readonly struct Fp64Element : IElementReader<double>
    {
        public static bool TryRead(ref Utf8JsonReader reader, out double value) => TryReal(ref reader, out value);
    }

    private readonly struct BytesElement : IElementReader<string>
    {
        public static bool TryRead(ref Utf8JsonReader reader, out string value)
        {
            var ok = reader.TokenType == JsonTokenType.String;
            value = ok ? GetString(ref reader) : string.Empty;
            return ok;
        }
    }
}
