using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace MlGrid.Testing;

/// <summary>ONNX tensor element types (values are <c>TensorProto.DataType</c>).</summary>
public enum OnnxType
{
    Float = 1,
    UInt8 = 2,
    Int8 = 3,
    UInt16 = 4,
    Int16 = 5,
    Int32 = 6,
    Int64 = 7,
    String = 8,
    Bool = 9,
    Float16 = 10,
    Double = 11,
    UInt32 = 12,
    UInt64 = 13,
}

/// <summary>ONNX attribute kinds supported by <see cref="OnnxAttribute"/> (values are <c>AttributeProto.AttributeType</c>).</summary>
public enum OnnxAttributeType
{
    Float = 1,
    Int = 2,
    String = 3,
    Floats = 6,
    Ints = 7,
}

/// <summary>A tensor dimension: fixed (<see cref="Value"/>) or symbolic (<see cref="Param"/>).</summary>
public readonly record struct OnnxDim
{
    private OnnxDim(long? value, string? param)
    {
        Value = value;
        Param = param;
    }

    public long? Value { get; }

    public string? Param { get; }

    public static OnnxDim Fixed(long value)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(value);
        return new OnnxDim(value, null);
    }

    public static OnnxDim Dynamic(string param = "N")
    {
        ArgumentException.ThrowIfNullOrEmpty(param);
        return new OnnxDim(null, param);
    }

    public static implicit operator OnnxDim(long value) => Fixed(value);

    public static implicit operator OnnxDim(string param) => Dynamic(param);
}

/// <summary>A node attribute. Create with the static factories.</summary>
public sealed record OnnxAttribute
{
    private OnnxAttribute(string name, OnnxAttributeType type)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        Name = name;
        Type = type;
    }

    public string Name { get; }

    public OnnxAttributeType Type { get; }

    public long IntValue { get; private init; }

    public float FloatValue { get; private init; }

    public string StringValue { get; private init; } = "";

    public IReadOnlyList<long> IntsValue { get; private init; } = [];

    public IReadOnlyList<float> FloatsValue { get; private init; } = [];

    public static OnnxAttribute Int(string name, long v) => new(name, OnnxAttributeType.Int) { IntValue = v };

    public static OnnxAttribute Float(string name, float v) => new(name, OnnxAttributeType.Float) { FloatValue = v };

    public static OnnxAttribute Ints(string name, params long[] v) => new(name, OnnxAttributeType.Ints) { IntsValue = [.. v] };

    public static OnnxAttribute Floats(string name, params float[] v) => new(name, OnnxAttributeType.Floats) { FloatsValue = [.. v] };

    public static OnnxAttribute String(string name, string v) => new(name, OnnxAttributeType.String) { StringValue = v };

    internal byte[] Encode()
    {
        var w = new ProtoWriter();
        w.WriteString(1, Name);
        switch (Type)
        {
            case OnnxAttributeType.Float:
                w.WriteFloat(2, FloatValue);
                break;
            case OnnxAttributeType.Int:
                w.WriteInt64(3, IntValue);
                break;
            case OnnxAttributeType.String:
                w.WriteBytes(4, Encoding.UTF8.GetBytes(StringValue));
                break;
            case OnnxAttributeType.Floats:
                w.WritePackedFloats(7, FloatsValue);
                break;
            case OnnxAttributeType.Ints:
                w.WritePackedInt64s(8, IntsValue);
                break;
            default:
                throw new InvalidOperationException($"Unsupported attribute type {Type}.");
        }

        w.WriteInt64(20, (long)Type);
        return w.ToArray();
    }
}

/// <summary>
/// Builds a small ONNX model (onnx.proto3 <c>ModelProto</c>) as bytes, hand-encoding protobuf,
/// so tests need no ONNX library. Only the default ("") operator-set domain is imported.
/// </summary>
public sealed class OnnxModelBuilder
{
    private readonly string _graphName;
    private readonly long _opsetVersion;
    private readonly long _irVersion;
    private readonly List<byte[]> _nodes = [];
    private readonly List<byte[]> _initializers = [];
    private readonly List<byte[]> _inputs = [];
    private readonly List<byte[]> _outputs = [];

    public OnnxModelBuilder(string graphName = "graph", long opsetVersion = 17, long irVersion = 8)
    {
        _graphName = graphName;
        _opsetVersion = opsetVersion;
        _irVersion = irVersion;
    }

    /// <summary>Adds a graph input. A dim &gt;= 0 is fixed; <c>null</c> is dynamic (<c>dim_param "N"</c>).</summary>
    public OnnxModelBuilder Input(string name, OnnxType type, params long?[] dims)
    {
        _inputs.Add(EncodeValueInfo(name, type, ToDims(dims)));
        return this;
    }

    /// <summary>Adds a graph input with explicit (possibly named symbolic) dims, e.g. <c>[OnnxDim.Dynamic("batch"), 3]</c>.</summary>
    public OnnxModelBuilder Input(string name, OnnxType type, IEnumerable<OnnxDim> dims)
    {
        _inputs.Add(EncodeValueInfo(name, type, dims));
        return this;
    }

    /// <summary>Adds a graph output. A dim &gt;= 0 is fixed; <c>null</c> is dynamic (<c>dim_param "N"</c>).</summary>
    public OnnxModelBuilder Output(string name, OnnxType type, params long?[] dims)
    {
        _outputs.Add(EncodeValueInfo(name, type, ToDims(dims)));
        return this;
    }

    /// <summary>Adds a graph output with explicit (possibly named symbolic) dims.</summary>
    public OnnxModelBuilder Output(string name, OnnxType type, IEnumerable<OnnxDim> dims)
    {
        _outputs.Add(EncodeValueInfo(name, type, dims));
        return this;
    }

    public OnnxModelBuilder FloatInitializer(string name, long[] dims, float[] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        CheckCount(dims, values.Length);
        var raw = new byte[values.Length * sizeof(float)];
        for (var i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(raw.AsSpan(i * sizeof(float)), values[i]);
        }

        return RawInitializer(name, OnnxType.Float, dims, raw);
    }

    public OnnxModelBuilder Int64Initializer(string name, long[] dims, long[] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        CheckCount(dims, values.Length);
        var raw = new byte[values.Length * sizeof(long)];
        for (var i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteInt64LittleEndian(raw.AsSpan(i * sizeof(long)), values[i]);
        }

        return RawInitializer(name, OnnxType.Int64, dims, raw);
    }

    /// <summary>Adds an initializer from little-endian fixed-width <c>raw_data</c> (any type but string).</summary>
    public OnnxModelBuilder RawInitializer(string name, OnnxType type, long[] dims, ReadOnlySpan<byte> rawData)
    {
        ArgumentNullException.ThrowIfNull(dims);
        if (type == OnnxType.String)
        {
            throw new ArgumentException("String tensors cannot use raw_data; use StringInitializer.", nameof(type));
        }

        var w = new ProtoWriter();
        w.WritePackedInt64s(1, dims);
        w.WriteInt64(2, (long)type);
        w.WriteString(8, name);
        w.WriteBytes(9, rawData);
        _initializers.Add(w.ToArray());
        return this;
    }

    /// <summary>Adds a string initializer (<c>string_data</c>, UTF-8).</summary>
    public OnnxModelBuilder StringInitializer(string name, long[] dims, string[] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        CheckCount(dims, values.Length);
        var w = new ProtoWriter();
        w.WritePackedInt64s(1, dims);
        w.WriteInt64(2, (long)OnnxType.String);
        foreach (var v in values)
        {
            w.WriteBytes(6, Encoding.UTF8.GetBytes(v));
        }

        w.WriteString(8, name);
        _initializers.Add(w.ToArray());
        return this;
    }

    public OnnxModelBuilder Node(string opType, string[] inputs, string[] outputs, params OnnxAttribute[] attributes)
    {
        ArgumentException.ThrowIfNullOrEmpty(opType);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(outputs);
        var w = new ProtoWriter();
        foreach (var i in inputs)
        {
            w.WriteString(1, i);
        }

        foreach (var o in outputs)
        {
            w.WriteString(2, o);
        }

        w.WriteString(3, string.Create(CultureInfo.InvariantCulture, $"{opType}_{_nodes.Count}"));
        w.WriteString(4, opType);
        foreach (var a in attributes)
        {
            w.WriteBytes(5, a.Encode());
        }

        _nodes.Add(w.ToArray());
        return this;
    }

    public byte[] Build()
    {
        var graph = new ProtoWriter();
        foreach (var n in _nodes)
        {
            graph.WriteBytes(1, n);
        }

        graph.WriteString(2, _graphName);
        foreach (var t in _initializers)
        {
            graph.WriteBytes(5, t);
        }

        foreach (var i in _inputs)
        {
            graph.WriteBytes(11, i);
        }

        foreach (var o in _outputs)
        {
            graph.WriteBytes(12, o);
        }

        var opset = new ProtoWriter();
        opset.WriteString(1, "");
        opset.WriteInt64(2, _opsetVersion);

        var model = new ProtoWriter();
        model.WriteInt64(1, _irVersion);
        model.WriteString(2, "MlGrid.Testing");
        model.WriteBytes(7, graph.ToArray());
        model.WriteBytes(8, opset.ToArray());
        return model.ToArray();
    }

    private static IEnumerable<OnnxDim> ToDims(long?[] dims)
    {
        ArgumentNullException.ThrowIfNull(dims);
        return dims.Select(d => d is { } v ? OnnxDim.Fixed(v) : OnnxDim.Dynamic());
    }

    private static void CheckCount(long[] dims, int count)
    {
        ArgumentNullException.ThrowIfNull(dims);
        long expected = 1;
        foreach (var d in dims)
        {
            expected *= d;
        }

        if (expected != count)
        {
            throw new ArgumentException($"Shape [{string.Join(",", dims)}] needs {expected} values, got {count}.", nameof(dims));
        }
    }

    private static byte[] EncodeValueInfo(string name, OnnxType type, IEnumerable<OnnxDim> dims)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        var shape = new ProtoWriter();
        foreach (var d in dims)
        {
            var dim = new ProtoWriter();
            if (d.Value is { } v)
            {
                dim.WriteInt64(1, v);
            }
            else
            {
                dim.WriteString(2, d.Param ?? "N");
            }

            shape.WriteBytes(1, dim.ToArray());
        }

        var tensor = new ProtoWriter();
        tensor.WriteInt64(1, (long)type);
        tensor.WriteBytes(2, shape.ToArray());

        var typeProto = new ProtoWriter();
        typeProto.WriteBytes(1, tensor.ToArray());

        var w = new ProtoWriter();
        w.WriteString(1, name);
        w.WriteBytes(2, typeProto.ToArray());
        return w.ToArray();
    }
}

/// <summary>Minimal protobuf wire-format writer. Fields are always written (no proto3 default elision),
/// so an empty dims list still yields a present, empty shape (a scalar), not an unknown shape.</summary>
file sealed class ProtoWriter
{
    private const int WireVarint = 0;
    private const int WireLengthDelimited = 2;
    private const int WireFixed32 = 5;

    private readonly List<byte> _buffer = [];

    public byte[] ToArray() => [.. _buffer];

    public void WriteInt64(int field, long value)
    {
        WriteTag(field, WireVarint);
        WriteVarint(unchecked((ulong)value));
    }

    public void WriteFloat(int field, float value)
    {
        WriteTag(field, WireFixed32);
        Span<byte> bytes = stackalloc byte[sizeof(float)];
        BinaryPrimitives.WriteSingleLittleEndian(bytes, value);
        foreach (var b in bytes)
        {
            _buffer.Add(b);
        }
    }

    public void WriteString(int field, string value) => WriteBytes(field, Encoding.UTF8.GetBytes(value));

    public void WriteBytes(int field, ReadOnlySpan<byte> value)
    {
        WriteTag(field, WireLengthDelimited);
        WriteVarint((ulong)value.Length);
        foreach (var b in value)
        {
            _buffer.Add(b);
        }
    }

    public void WritePackedInt64s(int field, IReadOnlyList<long> values)
    {
        var inner = new ProtoWriter();
        foreach (var v in values)
        {
            inner.WriteVarint(unchecked((ulong)v));
        }

        WriteBytes(field, inner.ToArray());
    }

    public void WritePackedFloats(int field, IReadOnlyList<float> values)
    {
        var bytes = new byte[values.Count * sizeof(float)];
        for (var i = 0; i < values.Count; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * sizeof(float)), values[i]);
        }

        WriteBytes(field, bytes);
    }

    private void WriteTag(int field, int wireType) => WriteVarint((ulong)((field << 3) | wireType));

    private void WriteVarint(ulong value)
    {
        while (value >= 0x80)
        {
            _buffer.Add((byte)(value | 0x80));
            value >>= 7;
        }

        _buffer.Add((byte)value);
    }
}

/// <summary>Ready-made tiny models for tests.</summary>
public static class TestModels
{
    /// <summary>Row-major 3x2 weights of <see cref="Linear"/>. Do not mutate.</summary>
    public static readonly float[] LinearWeights = [0.5f, -1f, 2f, 0.25f, -1.5f, 3f];

    /// <summary>Bias (length 2) of <see cref="Linear"/>. Do not mutate.</summary>
    public static readonly float[] LinearBias = [0.1f, -0.2f];

    /// <summary>(OIP datatype suffix, ONNX type) pairs used by <see cref="AllTypesIdentity"/>.</summary>
    public static readonly IReadOnlyList<(string Suffix, OnnxType Type)> AllTypes =
    [
        ("bool", OnnxType.Bool),
        ("uint8", OnnxType.UInt8),
        ("uint16", OnnxType.UInt16),
        ("uint32", OnnxType.UInt32),
        ("uint64", OnnxType.UInt64),
        ("int8", OnnxType.Int8),
        ("int16", OnnxType.Int16),
        ("int32", OnnxType.Int32),
        ("int64", OnnxType.Int64),
        ("fp16", OnnxType.Float16),
        ("fp32", OnnxType.Float),
        ("fp64", OnnxType.Double),
        ("bytes", OnnxType.String),
    ];

    /// <summary>output[N,2] = input[N,3] · <see cref="LinearWeights"/> + <see cref="LinearBias"/> (MatMul + Add).</summary>
    public static byte[] Linear() =>
        new OnnxModelBuilder("linear")
            .Input("input", OnnxType.Float, null, 3)
            .Output("output", OnnxType.Float, null, 2)
            .FloatInitializer("W", [3, 2], LinearWeights)
            .FloatInitializer("B", [2], LinearBias)
            .Node("MatMul", ["input", "W"], ["xw"])
            .Node("Add", ["xw", "B"], ["output"])
            .Build();

    /// <summary>One Identity per type in <see cref="AllTypes"/>: <c>in_&lt;suffix&gt;</c> [N,2] → <c>out_&lt;suffix&gt;</c> [N,2].</summary>
    public static byte[] AllTypesIdentity()
    {
        var b = new OnnxModelBuilder("all_types_identity");
        foreach (var (suffix, type) in AllTypes)
        {
            b.Input("in_" + suffix, type, null, 2)
             .Output("out_" + suffix, type, null, 2)
             .Node("Identity", ["in_" + suffix], ["out_" + suffix]);
        }

        return b.Build();
    }

    /// <summary>y[1,4] = Relu(x[1,4]).</summary>
    public static byte[] FixedShapeRelu() =>
        new OnnxModelBuilder("fixed_relu")
            .Input("x", OnnxType.Float, 1, 4)
            .Output("y", OnnxType.Float, 1, 4)
            .Node("Relu", ["x"], ["y"])
            .Build();
}
