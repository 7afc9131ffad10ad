using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using Microsoft.ML.OnnxRuntime;

namespace MlGrid.Inference.Tests;

/// <summary>
/// The binary data extension's raw layout written out element by element, independently of <see cref="OipBinary"/>,
/// so tests compare the library against the format rather than against itself.
/// </summary>
internal static class RawData
{
    public static TheoryData<string> AllDatatypes => new(Datatypes.All);

    /// <summary>Four values per datatype, extremes included.</summary>
    public static Array Sample(string datatype) => datatype switch
    {
        Datatypes.Bool => new[] { true, false, false, true },
        Datatypes.UInt8 => new byte[] { 0, 1, 200, byte.MaxValue },
        Datatypes.UInt16 => new ushort[] { 0, 0x0102, 40000, ushort.MaxValue },
        Datatypes.UInt32 => new uint[] { 0, 0x01020304, 3_000_000_000, uint.MaxValue },
        Datatypes.UInt64 => new ulong[] { 0, 0x0102030405060708, 10_000_000_000_000_000_000, ulong.MaxValue },
        Datatypes.Int8 => new sbyte[] { sbyte.MinValue, -1, 0, sbyte.MaxValue },
        Datatypes.Int16 => new short[] { short.MinValue, -1, 0x0102, short.MaxValue },
        Datatypes.Int32 => new[] { int.MinValue, -1, 0x01020304, int.MaxValue },
        Datatypes.Int64 => new[] { long.MinValue, -1L, 0x0102030405060708L, long.MaxValue },
        Datatypes.Fp16 => new[] { (Float16)1.5f, (Float16)(-2.25f), (Float16)0.1f, (Float16)65504f },
        Datatypes.Fp32 => new[] { 1.5f, -0.1f, float.MaxValue, float.NaN },
        Datatypes.Fp64 => new[] { 0.1, -1e300, double.Epsilon, double.NegativeInfinity },
        Datatypes.Bytes => new[] { "plain", "", "héllo \"wörld\"", "日本語 🚀" },
        _ => throw new ArgumentOutOfRangeException(nameof(datatype), datatype, null),
    };

    /// <summary>Little-endian, one element after the other; BYTES as a 4-byte length and UTF-8.</summary>
    public static byte[] Encode(string datatype, Array values)
    {
        var bytes = new List<byte>();
        foreach (var value in values)
        {
            bytes.AddRange(EncodeElement(datatype, value!));
        }

        return [.. bytes];
    }

    public static Array Decode(string datatype, ReadOnlySpan<byte> raw, int count)
    {
        var values = Datatypes.NewArray(datatype, count);
        var position = 0;
        for (var i = 0; i < count; i++)
        {
            var rest = raw[position..];
            object value;
            int width;
            switch (datatype)
            {
                case Datatypes.Bool: value = rest[0] != 0; width = 1; break;
                case Datatypes.UInt8: value = rest[0]; width = 1; break;
                case Datatypes.Int8: value = (sbyte)rest[0]; width = 1; break;
                case Datatypes.UInt16: value = BinaryPrimitives.ReadUInt16LittleEndian(rest); width = 2; break;
                case Datatypes.Int16: value = BinaryPrimitives.ReadInt16LittleEndian(rest); width = 2; break;
                case Datatypes.UInt32: value = BinaryPrimitives.ReadUInt32LittleEndian(rest); width = 4; break;
                case Datatypes.Int32: value = BinaryPrimitives.ReadInt32LittleEndian(rest); width = 4; break;
                case Datatypes.UInt64: value = BinaryPrimitives.ReadUInt64LittleEndian(rest); width = 8; break;
                case Datatypes.Int64: value = BinaryPrimitives.ReadInt64LittleEndian(rest); width = 8; break;
                case Datatypes.Fp16: value = (Float16)(float)BinaryPrimitives.ReadHalfLittleEndian(rest); width = 2; break;
                case Datatypes.Fp32: value = BinaryPrimitives.ReadSingleLittleEndian(rest); width = 4; break;
                case Datatypes.Fp64: value = BinaryPrimitives.ReadDoubleLittleEndian(rest); width = 8; break;
                case Datatypes.Bytes:
                    var length = (int)BinaryPrimitives.ReadUInt32LittleEndian(rest);
                    value = Encoding.UTF8.GetString(rest.Slice(4, length));
                    width = 4 + length;
                    break;
                default: throw new ArgumentOutOfRangeException(nameof(datatype), datatype, null);
            }

            values.SetValue(value, i);
            position += width;
        }

        Assert.Equal(raw.Length, position);
        return values;
    }

    /// <summary>Reads a response body with the JSON header of <paramref name="headerLength"/> bytes the way a client would.</summary>
    public static List<DecodedOutput> DecodeResponse(byte[] content, int headerLength)
    {
        using var header = JsonDocument.Parse(content.AsMemory(0, headerLength));
        var outputs = new List<DecodedOutput>();
        var position = headerLength;
        foreach (var output in header.RootElement.GetProperty("outputs").EnumerateArray())
        {
            var name = output.GetProperty("name").GetString()!;
            var datatype = output.GetProperty("datatype").GetString()!;
            var shape = output.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray();
            var count = (int)shape.Aggregate(1L, (a, b) => a * b);
            if (output.TryGetProperty("parameters", out var parameters) && parameters.TryGetProperty("binary_data_size", out var size))
            {
                Assert.False(output.TryGetProperty("data", out _), $"binary output '{name}' also has 'data'");
                var raw = content.AsSpan(position, size.GetInt32());
                outputs.Add(new DecodedOutput(name, datatype, shape, Decode(datatype, raw, count), Binary: true));
                position += size.GetInt32();
            }
            else
            {
                outputs.Add(new DecodedOutput(name, datatype, shape, null, Binary: false));
            }
        }

        Assert.Equal(content.Length, position);
        return outputs;
    }

    private static byte[] EncodeElement(string datatype, object value)
    {
        switch (datatype)
        {
            case Datatypes.Bool: return [(bool)value ? (byte)1 : (byte)0];
            case Datatypes.UInt8: return [(byte)value];
            case Datatypes.Int8: return [unchecked((byte)(sbyte)value)];
            case Datatypes.Bytes:
                var text = Encoding.UTF8.GetBytes((string)value);
                var bytes = new byte[4 + text.Length];
                BinaryPrimitives.WriteInt32LittleEndian(bytes, text.Length);
                text.CopyTo(bytes, 4);
                return bytes;
        }

        var buffer = new byte[8];
        var width = datatype switch
        {
            Datatypes.UInt16 => Write(() => BinaryPrimitives.WriteUInt16LittleEndian(buffer, (ushort)value), 2),
            Datatypes.Int16 => Write(() => BinaryPrimitives.WriteInt16LittleEndian(buffer, (short)value), 2),
            Datatypes.UInt32 => Write(() => BinaryPrimitives.WriteUInt32LittleEndian(buffer, (uint)value), 4),
            Datatypes.Int32 => Write(() => BinaryPrimitives.WriteInt32LittleEndian(buffer, (int)value), 4),
            Datatypes.UInt64 => Write(() => BinaryPrimitives.WriteUInt64LittleEndian(buffer, (ulong)value), 8),
            Datatypes.Int64 => Write(() => BinaryPrimitives.WriteInt64LittleEndian(buffer, (long)value), 8),
            Datatypes.Fp16 => Write(() => BinaryPrimitives.WriteHalfLittleEndian(buffer, (Half)(float)(Float16)value), 2),
            Datatypes.Fp32 => Write(() => BinaryPrimitives.WriteSingleLittleEndian(buffer, (float)value), 4),
            Datatypes.Fp64 => Write(() => BinaryPrimitives.WriteDoubleLittleEndian(buffer, (double)value), 8),
            _ => throw new ArgumentOutOfRangeException(nameof(datatype), datatype, null),
        };
        return buffer[..width];

        static int Write(Action write, int width)
        {
            write();
            return width;
        }
    }
}

internal sealed record DecodedOutput(string Name, string Datatype, long[] Shape, Array? Data, bool Binary);
