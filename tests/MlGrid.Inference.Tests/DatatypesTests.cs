using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace MlGrid.Inference.Tests;

public sealed class DatatypesTests
{
    /// <summary>The OIP datatype, the .NET element type that holds it and the ONNX element type, from the OIP and ONNX specs.</summary>
    public static TheoryData<string, Type, TensorElementType> Table => new()
    {
        { "BOOL", typeof(bool), TensorElementType.Bool },
        { "UINT8", typeof(byte), TensorElementType.UInt8 },
        { "UINT16", typeof(ushort), TensorElementType.UInt16 },
        { "UINT32", typeof(uint), TensorElementType.UInt32 },
        { "UINT64", typeof(ulong), TensorElementType.UInt64 },
        { "INT8", typeof(sbyte), TensorElementType.Int8 },
        { "INT16", typeof(short), TensorElementType.Int16 },
        { "INT32", typeof(int), TensorElementType.Int32 },
        { "INT64", typeof(long), TensorElementType.Int64 },
        { "FP16", typeof(Float16), TensorElementType.Float16 },
        { "FP32", typeof(float), TensorElementType.Float },
        { "FP64", typeof(double), TensorElementType.Double },
        { "BYTES", typeof(string), TensorElementType.String },
    };

    [Theory]
    [MemberData(nameof(Table))]
    public void NewArray_makes_an_array_of_the_datatypes_element_type(string datatype, Type element, TensorElementType onnx)
    {
        _ = onnx;
        var array = Datatypes.NewArray(datatype, 3);

        Assert.Equal(element.MakeArrayType(), array.GetType());
        Assert.Equal(3, array.Length);
    }

    [Theory]
    [InlineData("BOOL", 1)]
    [InlineData("UINT8", 1)]
    [InlineData("INT8", 1)]
    [InlineData("UINT16", 2)]
    [InlineData("INT16", 2)]
    [InlineData("FP16", 2)]
    [InlineData("UINT32", 4)]
    [InlineData("INT32", 4)]
    [InlineData("FP32", 4)]
    [InlineData("UINT64", 8)]
    [InlineData("INT64", 8)]
    [InlineData("FP64", 8)]
    [InlineData("BYTES", null)]
    public void RawElementSize_gives_the_binary_data_extensions_bytes_per_element(string datatype, int? size)
    {
        Assert.Equal(size, Datatypes.RawElementSize(datatype));
    }

    [Fact]
    public void RawElementSize_rejects_an_unknown_datatype()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Datatypes.RawElementSize("FLOAT"));
    }

    [Theory]
    [MemberData(nameof(Table))]
    public void FromOnnx_maps_each_onnx_element_type_to_its_datatype(string datatype, Type element, TensorElementType onnx)
    {
        _ = element;
        Assert.Equal(datatype, Datatypes.FromOnnx(onnx));
        Assert.True(Datatypes.IsKnown(datatype));
    }

    [Theory]
    [InlineData("BOOL")]
    [InlineData("UINT8")]
    [InlineData("UINT16")]
    [InlineData("UINT32")]
    [InlineData("UINT64")]
    [InlineData("FP16")]
    [InlineData("FP32")]
    [InlineData("FP64")]
    [InlineData("BYTES")]
    public void Of_names_the_datatype_of_an_array(string datatype)
    {
        Assert.Equal(datatype, Datatypes.Of(Datatypes.NewArray(datatype, 1)));
    }

    [Theory]
    [InlineData("INT8")]
    [InlineData("INT16")]
    [InlineData("INT32")]
    [InlineData("INT64")]
    public void Of_names_the_datatype_of_a_signed_integer_array(string datatype)
    {
        Assert.Equal(datatype, Datatypes.Of(Datatypes.NewArray(datatype, 1)));
    }

    [Theory]
    [InlineData(TensorElementType.BFloat16)]
    [InlineData(TensorElementType.Complex64)]
    [InlineData(TensorElementType.Complex128)]
    public void FromOnnx_has_no_datatype_for_types_oip_lacks(TensorElementType onnx)
    {
        Assert.Null(Datatypes.FromOnnx(onnx));
    }

    [Theory]
    [InlineData("fp32")]
    [InlineData("FLOAT")]
    [InlineData("BF16")]
    [InlineData("")]
    public void IsKnown_rejects_names_outside_the_protocol(string datatype)
    {
        Assert.False(Datatypes.IsKnown(datatype));
        Assert.Throws<ArgumentOutOfRangeException>(() => Datatypes.NewArray(datatype, 1));
    }

    [Fact]
    public void All_lists_the_thirteen_datatypes_once()
    {
        Assert.Equal(13, Datatypes.All.Distinct().Count());
        Assert.Equal(Datatypes.All.Count, Datatypes.All.Distinct().Count());
    }

    [Fact]
    public void Of_rejects_arrays_no_datatype_holds()
    {
        Assert.Throws<ArgumentException>(() => Datatypes.Of(new decimal[1]));
    }
}
