namespace MlGrid.Training;

/// <summary>
/// ML.NET exports every graph input and output with a batch dimension fixed at 1. This rewrites the first dimension
/// of each graph input and output to a named, dynamic one (<see cref="Name"/>), so the model takes any number of rows
/// and MlGrid's dynamic batcher can stack requests. It works on the protobuf wire format directly (ModelProto → graph →
/// inputs/outputs → type → tensor_type → shape → first dim) and drops the graph's optional <c>value_info</c> shape
/// hints, which still carry the fixed size. Everything else is copied byte for byte.
/// </summary>
public static class OnnxBatchDimension
{
    public const string Name = "N";

    // Field numbers from onnx.proto.
    private const int ModelGraph = 7;
    private const int GraphInput = 11;
    private const int GraphOutput = 12;
    private const int GraphValueInfo = 13;
    private const int ValueInfoType = 2;
    private const int TypeTensor = 1;
    private const int TensorShape = 2;
    private const int ShapeDim = 1;
    private const int DimParam = 2;

    private const int LengthDelimited = 2;

    public static byte[] MakeDynamic(byte[] model) =>
        Rewrite(model, (field, value) => field == ModelGraph ? Graph(value) : null);

    private static byte[]? Graph(ReadOnlySpan<byte> graph) =>
        Rewrite(graph, (field, value) => field switch
        {
            GraphInput or GraphOutput => ValueInfo(value),
            GraphValueInfo => [],
            _ => null,
        });

    private static byte[] ValueInfo(ReadOnlySpan<byte> valueInfo) =>
        Rewrite(valueInfo, (field, value) => field == ValueInfoType ? Type(value) : null);

    private static byte[] Type(ReadOnlySpan<byte> type) =>
        Rewrite(type, (field, value) => field == TypeTensor ? Tensor(value) : null);

    private static byte[] Tensor(ReadOnlySpan<byte> tensor) =>
        Rewrite(tensor, (field, value) => field == TensorShape ? Shape(value) : null);

    private static byte[] Shape(ReadOnlySpan<byte> shape)
    {
        var first = true;
        return Rewrite(shape, (field, _) =>
        {
            if (field != ShapeDim || !first)
            {
                return null;
            }

            first = false;
            var dimension = new List<byte>();
            WriteKey(dimension, DimParam);
            WriteVarint(dimension, (ulong)Name.Length);
            dimension.AddRange(System.Text.Encoding.ASCII.GetBytes(Name));
            return [.. dimension];
        });
    }

    /// <summary>
    /// Copies a message field by field. For a length-delimited field, <paramref name="replace"/> may give new bytes
    /// for its value (an empty array drops the field) or null to keep it as it is.
    /// </summary>
    private delegate byte[]? Replacement(int field, ReadOnlySpan<byte> value);

    private static byte[] Rewrite(ReadOnlySpan<byte> message, Replacement replace)
    {
        var output = new List<byte>(message.Length + 16);
        var position = 0;
        while (position < message.Length)
        {
            var start = position;
            var key = ReadVarint(message, ref position);
            var field = (int)(key >> 3);
            var wireType = (int)(key & 7);
            switch (wireType)
            {
                case 0:
                    ReadVarint(message, ref position);
                    break;
                case 1:
                    position += 8;
                    break;
                case 5:
                    position += 4;
                    break;
                case LengthDelimited:
                    var length = checked((int)ReadVarint(message, ref position));
                    if (length < 0 || position + length > message.Length)
                    {
                        throw new InvalidDataException("The ONNX model is truncated: a field runs past the end of its message.");
                    }

                    var value = message.Slice(position, length);
                    position += length;
                    if (replace(field, value) is { } replaced)
                    {
                        if (replaced.Length > 0 || field is not GraphValueInfo)
                        {
                            WriteKey(output, field);
                            WriteVarint(output, (ulong)replaced.Length);
                            output.AddRange(replaced);
                        }

                        continue;
                    }

                    break;
                default:
                    throw new InvalidDataException($"The ONNX model has a field with wire type {wireType}, which protobuf does not define.");
            }

            if (position > message.Length)
            {
                throw new InvalidDataException("The ONNX model is truncated.");
            }

            output.AddRange(message[start..position]);
        }

        return [.. output];
    }

    private static ulong ReadVarint(ReadOnlySpan<byte> data, ref int position)
    {
        ulong value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (position >= data.Length)
            {
                throw new InvalidDataException("The ONNX model is truncated inside a number.");
            }

            var b = data[position++];
            value |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                return value;
            }
        }

        throw new InvalidDataException("The ONNX model has a number longer than 10 bytes.");
    }

    private static void WriteKey(List<byte> output, int field) => WriteVarint(output, ((ulong)field << 3) | LengthDelimited);

    private static void WriteVarint(List<byte> output, ulong value)
    {
        while (value >= 0x80)
        {
            output.Add((byte)(value | 0x80));
            value >>= 7;
        }

        output.Add((byte)value);
    }
}
