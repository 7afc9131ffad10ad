using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace MlGrid.Inference;

/// <summary>The Open Inference Protocol datatypes that ONNX has, and how each maps onto ONNX Runtime and .NET.</summary>
public static class Datatypes
{
    public const string Bool = "BOOL";
    public const string UInt8 = "UINT8";
    public const string UInt16 = "UINT16";
    public const string UInt32 = "UINT32";
    public const string UInt64 = "UINT64";
    public const string Int8 = "INT8";
    public const string Int16 = "INT16";
    public const string Int32 = "INT32";
    public const string Int64 = "INT64";
    public const string Fp16 = "FP16";
    public const string Fp32 = "FP32";
    public const string Fp64 = "FP64";
    public const string Bytes = "BYTES";

    public static IReadOnlyList<string> All { get; } =
        [Bool, UInt8, UInt16, UInt32, UInt64, Int8, Int16, Int32, Int64, Fp16, Fp32, Fp64, Bytes];

    public static bool IsKnown(string datatype) => All.Contains(datatype);

    /// <summary>The OIP datatype of an ONNX element type, or null when OIP has none (bfloat16, complex, float8).</summary>
    public static string? FromOnnx(TensorElementType type) => type switch
    {
        TensorElementType.Bool => Bool,
        TensorElementType.UInt8 => UInt8,
        TensorElementType.UInt16 => UInt16,
        TensorElementType.UInt32 => UInt32,
        TensorElementType.UInt64 => UInt64,
        TensorElementType.Int8 => Int8,
        TensorElementType.Int16 => Int16,
        TensorElementType.Int32 => Int32,
        TensorElementType.Int64 => Int64,
        TensorElementType.Float16 => Fp16,
        TensorElementType.Float => Fp32,
        TensorElementType.Double => Fp64,
        TensorElementType.String => Bytes,
        _ => null,
    };

    /// <summary>Bytes per element in the raw form of the binary data extension; null for BYTES, whose elements vary in length.</summary>
    public static int? RawElementSize(string datatype) => datatype switch
    {
        Bool or UInt8 or Int8 => 1,
        UInt16 or Int16 or Fp16 => 2,
        UInt32 or Int32 or Fp32 => 4,
        UInt64 or Int64 or Fp64 => 8,
        Bytes => null,
        _ => throw new ArgumentOutOfRangeException(nameof(datatype), datatype, "Unknown datatype."),
    };

    /// <summary>A new array of the .NET element type that holds <paramref name="length"/> elements of <paramref name="datatype"/>.</summary>
    public static Array NewArray(string datatype, int length) => datatype switch
    {
        Bool => new bool[length],
        UInt8 => new byte[length],
        UInt16 => new ushort[length],
        UInt32 => new uint[length],
        UInt64 => new ulong[length],
        Int8 => new sbyte[length],
        Int16 => new short[length],
        Int32 => new int[length],
        Int64 => new long[length],
        Fp16 => new Float16[length],
        Fp32 => new float[length],
        Fp64 => new double[length],
        Bytes => new string[length],
        _ => throw new ArgumentOutOfRangeException(nameof(datatype), datatype, "Unknown datatype."),
    };

    /// <summary>The OIP datatype of a .NET array made by <see cref="NewArray"/>.</summary>
    public static string Of(Array data)
    {
        // By element type: the runtime lets sbyte[] pass as byte[] in type patterns.
        var element = data.GetType().GetElementType();
        return element == typeof(bool) ? Bool
            : element == typeof(byte) ? UInt8
            : element == typeof(ushort) ? UInt16
            : element == typeof(uint) ? UInt32
            : element == typeof(ulong) ? UInt64
            : element == typeof(sbyte) ? Int8
            : element == typeof(short) ? Int16
            : element == typeof(int) ? Int32
            : element == typeof(long) ? Int64
            : element == typeof(Float16) ? Fp16
            : element == typeof(float) ? Fp32
            : element == typeof(double) ? Fp64
            : element == typeof(string) ? Bytes
            : throw new ArgumentException($"No datatype holds {data.GetType().Name}.", nameof(data));
    }
}
