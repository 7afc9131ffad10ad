using System.Globalization;
using System.Text;
using MlGrid.Testing;

namespace MlGrid.Inference.Tests;

/// <summary>Binary requests and responses through a real ONNX Runtime session, against the same requests in JSON.</summary>
public sealed class OipBinaryOnnxTests
{
    [Fact]
    public void Linear_model_gives_identical_outputs_for_binary_and_json_requests()
    {
        using var model = OnnxModel.Load(TestModels.Linear(), DevicePreference.Cpu);
        float[] x = [1f, 2f, 3f, -0.5f, 0.1f, 4f, 1e-7f, 3.4e38f, 0f, 10f, -10f, 0.25f];
        var json = Encoding.UTF8.GetBytes(
            $$$"""{"inputs":[{"name":"input","datatype":"FP32","shape":[4,3],"data":[{{{string.Join(",", x.Select(v => v.ToString("R", CultureInfo.InvariantCulture)))}}}]}]}""");
        var raw = RawData.Encode(Datatypes.Fp32, x);
        var binary = OipBinaryRequestTests.Parse(
            $$$"""{"inputs":[{"name":"input","datatype":"FP32","shape":[4,3],"parameters":{"binary_data_size":{{{raw.Length}}}}}],"outputs":[{"name":"output","parameters":{"binary_data":true}}]}""",
            raw);
        var plain = OipJson.ParseRequest(json);
        SignatureValidator.Validate(binary, model.Inputs, model.Outputs);

        var fromJson = Assert.Single(model.Run(plain.Inputs, plain.Outputs));
        var fromBinary = Assert.Single(model.Run(binary.Inputs, binary.Outputs));

        Assert.Equal(x, (float[])binary.Inputs[0].Data);
        Assert.Equal([4L, 2L], fromBinary.Shape);
        Assert.Equal(fromJson.Shape, fromBinary.Shape);
        Assert.Equal(((float[])fromJson.Data).Select(BitConverter.SingleToInt32Bits), ((float[])fromBinary.Data).Select(BitConverter.SingleToInt32Bits));

        var body = OipBinary.SerializeResponse(new InferenceResponse("linear", "1", null, [fromBinary]), binary.IsBinaryOutput);
        var output = Assert.Single(RawData.DecodeResponse(body.Content, body.JsonHeaderLength!.Value));
        Assert.True(output.Binary);
        Assert.Equal((float[])fromJson.Data, (float[])output.Data!);
    }

    [Fact]
    public void All_types_model_round_trips_every_datatype_as_binary_data_both_ways()
    {
        using var model = OnnxModel.Load(TestModels.AllTypesIdentity(), DevicePreference.Cpu);
        var datatypes = TestModels.AllTypes.Select(t => t.Suffix.ToUpperInvariant()).ToList();
        var raws = datatypes.Select(d => RawData.Encode(d, RawData.Sample(d))).ToList();
        var inputs = string.Join(",", datatypes.Select((d, i) =>
            $$$"""{"name":"in_{{{d.ToLowerInvariant()}}}","datatype":"{{{d}}}","shape":[2,2],"parameters":{"binary_data_size":{{{raws[i].Length}}}}}"""));
        var request = OipBinaryRequestTests.Parse($$$"""{"inputs":[{{{inputs}}}],"parameters":{"binary_data_output":true}}""", [.. raws]);
        SignatureValidator.Validate(request, model.Inputs, model.Outputs);

        var outputs = model.Run(request.Inputs, request.Outputs);
        var body = OipBinary.SerializeResponse(new InferenceResponse("all", "1", null, outputs), request.IsBinaryOutput);

        var decoded = RawData.DecodeResponse(body.Content, body.JsonHeaderLength!.Value);
        Assert.Equal(datatypes.Count, decoded.Count);
        foreach (var datatype in datatypes)
        {
            var output = Assert.Single(decoded, o => o.Name == "out_" + datatype.ToLowerInvariant());
            Assert.True(output.Binary);
            Assert.Equal(datatype, output.Datatype);
            Assert.Equal([2L, 2L], output.Shape);
            Assert.Equal(RawData.Sample(datatype).Cast<object>(), output.Data!.Cast<object>());
        }
    }
}
