using Microsoft.ML.OnnxRuntime;
using MlGrid.Testing;

namespace MlGrid.Inference.Tests;

public sealed class OnnxModelTests
{
    private const float Tolerance = 1e-5f;

    [Fact]
    public void Load_reads_the_linear_models_signature()
    {
        using var model = OnnxModel.Load(TestModels.Linear(), DevicePreference.Cpu);

        var input = Assert.Single(model.Inputs);
        Assert.Equal("input", input.Name);
        Assert.Equal(Datatypes.Fp32, input.Datatype);
        Assert.Equal([-1L, 3L], input.Shape);
        var output = Assert.Single(model.Outputs);
        Assert.Equal("output", output.Name);
        Assert.Equal(Datatypes.Fp32, output.Datatype);
        Assert.Equal([-1L, 2L], output.Shape);
    }

    [Fact]
    public void Load_from_a_file_reads_the_same_signature()
    {
        var path = Path.Combine(Path.GetTempPath(), $"mlgrid-{Guid.NewGuid():N}.onnx");
        File.WriteAllBytes(path, TestModels.FixedShapeRelu());
        try
        {
            using var model = OnnxModel.Load(path, DevicePreference.Cpu);

            Assert.Equal([1L, 4L], Assert.Single(model.Inputs).Shape);
            Assert.Equal("y", Assert.Single(model.Outputs).Name);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Run_computes_x_times_w_plus_b()
    {
        using var model = OnnxModel.Load(TestModels.Linear(), DevicePreference.Cpu);
        float[] x = [1f, 2f, 3f, -0.5f, 0f, 4f, 0f, 0f, 0f, 10f, -10f, 0.25f];

        var output = Assert.Single(model.Run([new InferenceTensor("input", Datatypes.Fp32, [4, 3], x)]));

        Assert.Equal("output", output.Name);
        Assert.Equal(Datatypes.Fp32, output.Datatype);
        Assert.Equal([4L, 2L], output.Shape);
        AssertClose(Linear(x, rows: 4), Assert.IsType<float[]>(output.Data));
    }

    [Fact]
    public void Run_on_zero_rows_gives_zero_rows()
    {
        using var model = OnnxModel.Load(TestModels.Linear(), DevicePreference.Cpu);

        var output = Assert.Single(model.Run([new InferenceTensor("input", Datatypes.Fp32, [0, 3], Array.Empty<float>())]));

        Assert.Equal([0L, 2L], output.Shape);
        Assert.Empty((float[])output.Data);
    }

    [Fact]
    public void Load_reads_every_datatype_of_the_all_types_model()
    {
        using var model = OnnxModel.Load(TestModels.AllTypesIdentity(), DevicePreference.Cpu);

        // The suffixes are the OIP datatype names in lower case.
        var expected = TestModels.AllTypes.Select(t => ("in_" + t.Suffix, t.Suffix.ToUpperInvariant())).ToHashSet();
        Assert.Equal(expected, model.Inputs.Select(s => (s.Name, s.Datatype)).ToHashSet());
        Assert.Equal(Datatypes.All.ToHashSet(), model.Outputs.Select(s => s.Datatype).ToHashSet());
        Assert.All(model.Inputs.Concat(model.Outputs), s => Assert.Equal([-1L, 2L], s.Shape));
    }

    [Theory]
    [InlineData(Datatypes.Bool)]
    [InlineData(Datatypes.UInt8)]
    [InlineData(Datatypes.UInt16)]
    [InlineData(Datatypes.UInt32)]
    [InlineData(Datatypes.UInt64)]
    [InlineData(Datatypes.Fp16)]
    [InlineData(Datatypes.Fp32)]
    [InlineData(Datatypes.Fp64)]
    [InlineData(Datatypes.Bytes)]
    public void Run_round_trips_a_datatype_through_a_real_session(string datatype)
    {
        AssertIdentityRoundTrip(datatype);
    }

    [Theory]
    [InlineData(Datatypes.Int8)]
    [InlineData(Datatypes.Int16)]
    [InlineData(Datatypes.Int32)]
    [InlineData(Datatypes.Int64)]
    public void Run_round_trips_a_signed_integer_datatype_through_a_real_session(string datatype)
    {
        AssertIdentityRoundTrip(datatype);
    }

    [Fact]
    public void Run_round_trips_every_datatype_through_the_all_types_model()
    {
        using var model = OnnxModel.Load(TestModels.AllTypesIdentity(), DevicePreference.Cpu);
        var inputs = AllTypesInputs();

        var outputs = model.Run(inputs);

        Assert.Equal(inputs.Count, outputs.Count);
        foreach (var input in inputs)
        {
            var suffix = input.Name["in_".Length..];
            var output = Assert.Single(outputs, o => o.Name == "out_" + suffix);
            Assert.Equal(input.Datatype, output.Datatype);
            Assert.Equal([2L, 2L], output.Shape);
            Assert.IsType(input.Data.GetType(), output.Data);
            Assert.Equal(input.Data.Cast<object>(), output.Data.Cast<object>());
        }
    }

    [Fact]
    public void Run_returns_only_the_requested_outputs_of_the_all_types_model()
    {
        using var model = OnnxModel.Load(TestModels.AllTypesIdentity(), DevicePreference.Cpu);

        var outputs = model.Run(AllTypesInputs(), ["out_bytes", "out_int32"]);

        Assert.Equal(["out_bytes", "out_int32"], outputs.Select(o => o.Name));
        Assert.Equal(SampleData(Datatypes.Bytes).Cast<object>(), outputs[0].Data.Cast<object>());
        Assert.Equal(SampleData(Datatypes.Int32).Cast<object>(), outputs[1].Data.Cast<object>());
    }

    [Fact]
    public void Run_returns_only_the_requested_outputs_in_the_requested_order()
    {
        var bytes = new OnnxModelBuilder("three_outputs")
            .Input("x", OnnxType.Float, null, 2)
            .Output("same", OnnxType.Float, null, 2)
            .Output("negated", OnnxType.Float, null, 2)
            .Output("rectified", OnnxType.Float, null, 2)
            .Node("Identity", ["x"], ["same"])
            .Node("Neg", ["x"], ["negated"])
            .Node("Relu", ["x"], ["rectified"])
            .Build();
        using var model = OnnxModel.Load(bytes, DevicePreference.Cpu);
        float[] x = [-2f, 3f];

        var outputs = model.Run([new InferenceTensor("x", Datatypes.Fp32, [1, 2], x)], ["rectified", "negated"]);

        Assert.Equal(["rectified", "negated"], outputs.Select(o => o.Name));
        Assert.Equal(x.Select(v => Math.Max(0f, v)), (float[])outputs[0].Data);
        Assert.Equal(x.Select(v => -v), (float[])outputs[1].Data);
        Assert.Equal(3, model.Run([new InferenceTensor("x", Datatypes.Fp32, [1, 2], x)]).Count);
    }

    [Fact]
    public void Run_applies_relu_on_a_fixed_shape_model()
    {
        using var model = OnnxModel.Load(TestModels.FixedShapeRelu(), DevicePreference.Cpu);
        float[] x = [-1.5f, 0f, 2.5f, -0.001f];

        var output = Assert.Single(model.Run([new InferenceTensor("x", Datatypes.Fp32, [1, 4], x)]));

        Assert.Equal("y", output.Name);
        Assert.Equal([1L, 4L], Assert.Single(model.Inputs).Shape);
        Assert.Equal([1L, 4L], output.Shape);
        Assert.Equal(x.Select(v => Math.Max(0f, v)), (float[])output.Data);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(10)]
    [InlineData(50)]
    [InlineData(90)]
    public void Load_rejects_a_truncated_model_with_ModelLoadException(int keptPercent)
    {
        var bytes = TestModels.Linear();
        var truncated = bytes[..(bytes.Length * keptPercent / 100)];

        // Assert.Throws wants this exact type: an OnnxRuntimeException escaping would fail the test.
        var ex = Assert.Throws<ModelLoadException>(() => OnnxModel.Load(truncated, DevicePreference.Auto));

        Assert.IsType<OnnxRuntimeException>(ex.InnerException);
        Assert.StartsWith("ONNX Runtime cannot load this model", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_rejects_bytes_that_are_not_a_model()
    {
        Assert.Throws<ModelLoadException>(() => OnnxModel.Load("not an onnx model"u8.ToArray(), DevicePreference.Auto));
    }

    [Fact]
    public void Load_rejects_a_model_with_an_invalid_graph()
    {
        var bytes = new OnnxModelBuilder()
            .Input("x", OnnxType.Float, 2)
            .Output("y", OnnxType.Float, 2)
            .Node("NoSuchOperator", ["x"], ["y"])
            .Build();

        Assert.Throws<ModelLoadException>(() => OnnxModel.Load(bytes, DevicePreference.Cpu));
    }

    [Fact]
    public void Load_error_for_a_file_does_not_reveal_the_workers_path()
    {
        var directory = Path.Combine(Path.GetTempPath(), $"mlgrid-secret-{Guid.NewGuid():N}");
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, "model.onnx");
        File.WriteAllBytes(path, TestModels.Linear()[..20]);
        try
        {
            var ex = Assert.Throws<ModelLoadException>(() => OnnxModel.Load(path, DevicePreference.Cpu));

            Assert.DoesNotContain(directory, ex.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void Load_rejects_a_model_whose_input_has_no_oip_datatype()
    {
        const OnnxType bfloat16 = (OnnxType)16;
        var bytes = new OnnxModelBuilder()
            .Input("half", bfloat16, null, 2)
            .Output("same", bfloat16, null, 2)
            .Node("Identity", ["half"], ["same"])
            .Build();

        var ex = Assert.Throws<ModelLoadException>(() => OnnxModel.Load(bytes, DevicePreference.Cpu));

        Assert.Contains("'half'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_leaves_out_outputs_that_have_no_oip_datatype()
    {
        const OnnxType bfloat16 = (OnnxType)16;
        var bytes = new OnnxModelBuilder()
            .Input("x", OnnxType.Float, null, 2)
            .Output("kept", OnnxType.Float, null, 2)
            .Output("dropped", bfloat16, null, 2)
            .Node("Identity", ["x"], ["kept"])
            .Node("Cast", ["x"], ["dropped"], OnnxAttribute.Int("to", 16))
            .Build();

        using var model = OnnxModel.Load(bytes, DevicePreference.Cpu);

        Assert.Equal(["kept"], model.Outputs.Select(o => o.Name));
        var output = Assert.Single(model.Run([new InferenceTensor("x", Datatypes.Fp32, [1, 2], new[] { 1f, 2f })]));
        Assert.Equal("kept", output.Name);
    }

    [Fact]
    public void Cuda_is_not_usable_on_a_machine_without_a_gpu()
    {
        var (usable, detail) = OnnxModel.ProbeCuda();

        Assert.False(usable);
        Assert.False(string.IsNullOrWhiteSpace(detail));
    }

    [Fact]
    public void Load_with_auto_falls_back_to_cpu_and_says_why()
    {
        using var model = OnnxModel.Load(TestModels.Linear(), DevicePreference.Auto);

        Assert.Equal(OnnxModel.CpuProvider, model.ExecutionProvider);
        Assert.False(string.IsNullOrWhiteSpace(model.FallbackReason));
        Assert.Contains("CUDA", model.FallbackReason, StringComparison.Ordinal);
        AssertClose(Linear([1f, 1f, 1f], rows: 1), (float[])model.Run([new InferenceTensor("input", Datatypes.Fp32, [1, 3], new[] { 1f, 1f, 1f })])[0].Data);
    }

    [Fact]
    public void Load_with_cpu_uses_cpu_without_a_fallback_reason()
    {
        using var model = OnnxModel.Load(TestModels.Linear(), DevicePreference.Cpu);

        Assert.Equal(OnnxModel.CpuProvider, model.ExecutionProvider);
        Assert.Null(model.FallbackReason);
    }

    [Fact]
    public void Load_with_gpu_on_a_machine_without_one_fails()
    {
        var ex = Assert.Throws<ModelLoadException>(() => OnnxModel.Load(TestModels.Linear(), DevicePreference.Gpu));

        Assert.Contains("GPU", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_with_gpu_reports_a_broken_model_as_the_models_fault()
    {
        var ex = Assert.Throws<ModelLoadException>(() => OnnxModel.Load(TestModels.Linear()[..20], DevicePreference.Gpu));

        Assert.IsType<OnnxRuntimeException>(ex.InnerException);
    }

    [Fact]
    public void Warmup_runs_on_float_models()
    {
        foreach (var bytes in new[] { TestModels.Linear(), TestModels.FixedShapeRelu() })
        {
            using var model = OnnxModel.Load(bytes, DevicePreference.Cpu);
            model.Warmup();
        }
    }

    [Theory]
    [InlineData(Datatypes.Bytes)]
    [InlineData(Datatypes.Fp16)]
    [InlineData(Datatypes.Bool)]
    public void Warmup_runs_on_a_model_with_non_float_input(string datatype)
    {
        using var model = OnnxModel.Load(IdentityModel(datatype), DevicePreference.Cpu);

        model.Warmup();
    }

    [Fact]
    public void Warmup_runs_on_the_all_types_model()
    {
        using var model = OnnxModel.Load(TestModels.AllTypesIdentity(), DevicePreference.Cpu);

        model.Warmup();
    }

    [Fact]
    public async Task Run_gives_correct_results_from_many_threads_at_once()
    {
        using var model = OnnxModel.Load(TestModels.Linear(), DevicePreference.Cpu);
        const int calls = 200;
        using var start = new ManualResetEventSlim();

        var tasks = Enumerable.Range(0, calls).Select(i => Task.Run(() =>
        {
            var rows = 1 + (i % 7);
            var x = Enumerable.Range(0, rows * 3).Select(j => (float)(((i * 31) + (j * 7)) % 23) - 11f).ToArray();
            start.Wait();
            var output = model.Run([new InferenceTensor("input", Datatypes.Fp32, [rows, 3], x)])[0];
            return (Expected: Linear(x, rows), Actual: (float[])output.Data, Shape: output.Shape, Rows: rows);
        })).ToArray();
        start.Set();

        foreach (var result in await Task.WhenAll(tasks))
        {
            Assert.Equal([result.Rows, 2L], result.Shape);
            AssertClose(result.Expected, result.Actual);
        }
    }

    private static void AssertIdentityRoundTrip(string datatype)
    {
        using var model = OnnxModel.Load(IdentityModel(datatype), DevicePreference.Cpu);
        var input = new InferenceTensor("in", datatype, [2, 2], SampleData(datatype));

        var output = Assert.Single(model.Run([input]));

        Assert.Equal("out", output.Name);
        Assert.Equal(datatype, output.Datatype);
        Assert.Equal([2L, 2L], output.Shape);
        Assert.IsType(input.Data.GetType(), output.Data);
        Assert.Equal(input.Data.Cast<object>(), output.Data.Cast<object>());
    }

    /// <summary>out[N,2] = Identity(in[N,2]) for one datatype, typed as <see cref="TestModels.AllTypes"/> types it.</summary>
    private static byte[] IdentityModel(string datatype)
    {
        var type = TestModels.AllTypes.Single(t => string.Equals(t.Suffix, datatype, StringComparison.OrdinalIgnoreCase)).Type;
        return new OnnxModelBuilder("identity")
            .Input("in", type, null, 2)
            .Output("out", type, null, 2)
            .Node("Identity", ["in"], ["out"])
            .Build();
    }

    private static List<InferenceTensor> AllTypesInputs() =>
        TestModels.AllTypes
            .Select(t => new InferenceTensor("in_" + t.Suffix, t.Suffix.ToUpperInvariant(), [2, 2], SampleData(t.Suffix.ToUpperInvariant())))
            .ToList();

    /// <summary>X·W+B computed here from the published weights, independently of ONNX Runtime.</summary>
    private static float[] Linear(float[] x, int rows)
    {
        var w = TestModels.LinearWeights;
        var b = TestModels.LinearBias;
        var y = new float[rows * 2];
        for (var r = 0; r < rows; r++)
        {
            for (var j = 0; j < 2; j++)
            {
                double sum = b[j];
                for (var k = 0; k < 3; k++)
                {
                    sum += (double)x[(r * 3) + k] * w[(k * 2) + j];
                }

                y[(r * 2) + j] = (float)sum;
            }
        }

        return y;
    }

    private static void AssertClose(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - actual[i]) <= Tolerance * Math.Max(1f, Math.Abs(expected[i])),
                $"element {i}: expected {expected[i]}, got {actual[i]}");
        }
    }

    private static Array SampleData(string datatype) => datatype switch
    {
        Datatypes.Bool => new[] { true, false, true, true },
        Datatypes.UInt8 => new byte[] { 0, 1, 200, byte.MaxValue },
        Datatypes.UInt16 => new ushort[] { 0, 1, 40000, ushort.MaxValue },
        Datatypes.UInt32 => new uint[] { 0, 1, 3_000_000_000, uint.MaxValue },
        Datatypes.UInt64 => new ulong[] { 0, 1, 10_000_000_000_000_000_000, ulong.MaxValue },
        Datatypes.Int8 => new sbyte[] { sbyte.MinValue, -1, 0, sbyte.MaxValue },
        Datatypes.Int16 => new short[] { short.MinValue, -1, 0, short.MaxValue },
        Datatypes.Int32 => new[] { int.MinValue, -1, 0, int.MaxValue },
        Datatypes.Int64 => new[] { long.MinValue, -1L, 0L, long.MaxValue },
        Datatypes.Fp16 => new[] { (Float16)1.5f, (Float16)(-2.25f), (Float16)0.1f, (Float16)65504f },
        Datatypes.Fp32 => new[] { 1.5f, -0.1f, float.MaxValue, float.Epsilon },
        Datatypes.Fp64 => new[] { 0.1, -1e300, double.MaxValue, double.Epsilon },
        Datatypes.Bytes => new[] { "plain", "", "héllo wörld", "日本語 🚀" },
        _ => throw new ArgumentOutOfRangeException(nameof(datatype), datatype, null),
    };
}
