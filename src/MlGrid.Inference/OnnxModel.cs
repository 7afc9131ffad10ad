using Microsoft.ML.OnnxRuntime;

namespace MlGrid.Inference;

/// <summary>Which execution provider a model should run on.</summary>
public enum DevicePreference
{
    /// <summary>CUDA when a GPU is usable, otherwise CPU.</summary>
    Auto = 0,
    Cpu = 1,

    /// <summary>CUDA or nothing: loading fails when no GPU is usable.</summary>
    Gpu = 2,
}

/// <summary>A model file ONNX Runtime refused, with its reason.</summary>
public sealed class ModelLoadException : Exception
{
    public ModelLoadException()
    {
    }

    public ModelLoadException(string message) : base(message)
    {
    }

    public ModelLoadException(string message, Exception innerException) : base(message, innerException)
    {
    }
}

/// <summary>
/// One long-lived ONNX Runtime session and its signature. <see cref="Run"/> is thread-safe, as ONNX Runtime's is.
/// </summary>
public sealed partial class OnnxModel : IDisposable
{
    public const string CudaProvider = "CUDAExecutionProvider";
    public const string CpuProvider = "CPUExecutionProvider";

    private readonly InferenceSession _session;

    private OnnxModel(InferenceSession session, string executionProvider, string? fallbackReason)
    {
        _session = session;
        ExecutionProvider = executionProvider;
        FallbackReason = fallbackReason;
        Inputs = ReadSpecs(session.InputMetadata, isInput: true);
        Outputs = ReadSpecs(session.OutputMetadata, isInput: false);
    }

    /// <summary><see cref="CudaProvider"/> or <see cref="CpuProvider"/>.</summary>
    public string ExecutionProvider { get; }

    /// <summary>Why CUDA was not used when it was allowed, or null.</summary>
    public string? FallbackReason { get; }

    public IReadOnlyList<TensorSpec> Inputs { get; }

    /// <summary>The tensor outputs; outputs that are maps or sequences are not served.</summary>
    public IReadOnlyList<TensorSpec> Outputs { get; }

    /// <summary>Loads a model from a file, on CUDA when <paramref name="preference"/> allows and a GPU is usable.</summary>
    public static OnnxModel Load(string path, DevicePreference preference = DevicePreference.Auto) =>
        Load(options => new InferenceSession(path, options), preference);

    public static OnnxModel Load(byte[] model, DevicePreference preference = DevicePreference.Auto) =>
        Load(options => new InferenceSession(model, options), preference);

    /// <summary>Whether the CUDA execution provider can be set up in this process (a GPU and its libraries are there).</summary>
    public static (bool Usable, string Detail) ProbeCuda()
    {
        try
        {
            using var options = new SessionOptions();
            options.AppendExecutionProvider_CUDA(0);
            return (true, "CUDA execution provider available on device 0");
        }
        catch (Exception ex) when (ex is OnnxRuntimeException or EntryPointNotFoundException or DllNotFoundException)
        {
            return (false, FirstLine(ex.Message));
        }
    }

    /// <summary>Runs the model; <paramref name="outputNames"/> null means every output.</summary>
    public IReadOnlyList<InferenceTensor> Run(IReadOnlyList<InferenceTensor> inputs, IReadOnlyList<string>? outputNames = null)
    {
        var names = outputNames ?? Outputs.Select(o => o.Name).ToArray();
        var values = new List<OrtValue>(inputs.Count);
        try
        {
            foreach (var input in inputs)
            {
                values.Add(ToOrtValue(input));
            }

            using var runOptions = new RunOptions();
            IDisposableReadOnlyCollection<OrtValue> results;
            try
            {
                results = _session.Run(runOptions, inputs.Select(i => i.Name).ToArray(), values, names);
            }
            catch (OnnxRuntimeException ex) when (ex.Message.StartsWith("[ErrorCode:InvalidArgument]", StringComparison.Ordinal))
            {
                // The inputs matched the signature but the graph refused them (e.g. dimensions that must agree do not).
                throw new InferenceInputException($"ONNX Runtime rejected the inputs: {FirstLine(ex.Message)}", ex);
            }

            using (results)
            {
                var outputs = new List<InferenceTensor>(names.Count);
                var i = 0;
                foreach (var result in results)
                {
                    outputs.Add(FromOrtValue(names[i++], result));
                }

                return outputs;
            }
        }
        finally
        {
            foreach (var value in values)
            {
                value.Dispose();
            }
        }
    }

    /// <summary>Runs once on zeros (one row where a dimension is dynamic) so the first real request pays no start-up cost.</summary>
    public void Warmup()
    {
        var inputs = Inputs
            .Select(spec =>
            {
                var shape = spec.Shape.Select(d => d < 0 ? 1 : d).ToArray();
                var data = Datatypes.NewArray(spec.Datatype, checked((int)Shapes.ElementCount(spec.Name, shape)));
                if (data is string[] strings)
                {
                    Array.Fill(strings, string.Empty);
                }

                return new InferenceTensor(spec.Name, spec.Datatype, shape, data);
            })
            .ToList();
        Run(inputs);
    }

    public void Dispose() => _session.Dispose();

    private static OnnxModel Load(Func<SessionOptions, InferenceSession> create, DevicePreference preference)
    {
        string? fallbackReason = null;
        if (preference != DevicePreference.Cpu)
        {
            try
            {
                using var options = NewOptions();
                options.AppendExecutionProvider_CUDA(0);
                return Wrap(create(options), CudaProvider, null);
            }
            catch (Exception ex) when (ex is OnnxRuntimeException or EntryPointNotFoundException or DllNotFoundException)
            {
                fallbackReason = $"CUDA execution provider unavailable: {FirstLine(ex.Message)}";
            }
        }

        // A failure on CPU is the model's own; a CUDA-only failure above was the device's.
        InferenceSession session;
        try
        {
            using var cpuOptions = NewOptions();
            session = create(cpuOptions);
        }
        catch (OnnxRuntimeException ex)
        {
            throw new ModelLoadException($"ONNX Runtime cannot load this model: {FirstLine(ex.Message)}", ex);
        }

        if (preference == DevicePreference.Gpu)
        {
            session.Dispose();
            throw new ModelLoadException($"The deployment asks for a GPU but none is usable on this machine. {fallbackReason}");
        }

        return Wrap(session, CpuProvider, fallbackReason);
    }

    private static SessionOptions NewOptions() => new() { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };

    private static OnnxModel Wrap(InferenceSession session, string provider, string? fallbackReason)
    {
        try
        {
            return new OnnxModel(session, provider, fallbackReason);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    private static string FirstLine(string message)
    {
        // ONNX Runtime names the local file it read; callers know the model, not this worker's disk.
        var line = LocalPath().Replace(message.Split('\n', 2)[0].Trim(), "the model file");
        return line.Length <= 500 ? line : line[..500] + "…";
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"(?:[A-Za-z]:)?[\\/][^\s:]*\.onnx")]
    private static partial System.Text.RegularExpressions.Regex LocalPath();

    private static List<TensorSpec> ReadSpecs(IReadOnlyDictionary<string, NodeMetadata> metadata, bool isInput)
    {
        var specs = new List<TensorSpec>(metadata.Count);
        foreach (var (name, node) in metadata)
        {
            var datatype = node.IsTensor ? Datatypes.FromOnnx(node.ElementDataType) : null;
            if (datatype is null)
            {
                if (isInput)
                {
                    throw new ModelLoadException(
                        $"Input '{name}' is a {(node.IsTensor ? node.ElementDataType.ToString() : node.OnnxValueType.ToString())}; only tensors of the Open Inference Protocol datatypes can be served.");
                }

                continue;
            }

            specs.Add(new TensorSpec(name, datatype, node.Dimensions.Select(d => d < 0 ? -1L : d).ToArray()));
        }

        return specs;
    }

    private static OrtValue ToOrtValue(InferenceTensor tensor) => tensor.Datatype switch
    {
        // By datatype, not array type: the runtime lets sbyte[] pass as byte[] in type patterns.
        Datatypes.Bool => OrtValue.CreateTensorValueFromMemory((bool[])tensor.Data, tensor.Shape),
        Datatypes.UInt8 => OrtValue.CreateTensorValueFromMemory((byte[])tensor.Data, tensor.Shape),
        Datatypes.UInt16 => OrtValue.CreateTensorValueFromMemory((ushort[])tensor.Data, tensor.Shape),
        Datatypes.UInt32 => OrtValue.CreateTensorValueFromMemory((uint[])tensor.Data, tensor.Shape),
        Datatypes.UInt64 => OrtValue.CreateTensorValueFromMemory((ulong[])tensor.Data, tensor.Shape),
        Datatypes.Int8 => OrtValue.CreateTensorValueFromMemory((sbyte[])tensor.Data, tensor.Shape),
        Datatypes.Int16 => OrtValue.CreateTensorValueFromMemory((short[])tensor.Data, tensor.Shape),
        Datatypes.Int32 => OrtValue.CreateTensorValueFromMemory((int[])tensor.Data, tensor.Shape),
        Datatypes.Int64 => OrtValue.CreateTensorValueFromMemory((long[])tensor.Data, tensor.Shape),
        Datatypes.Fp16 => OrtValue.CreateTensorValueFromMemory((Float16[])tensor.Data, tensor.Shape),
        Datatypes.Fp32 => OrtValue.CreateTensorValueFromMemory((float[])tensor.Data, tensor.Shape),
        Datatypes.Fp64 => OrtValue.CreateTensorValueFromMemory((double[])tensor.Data, tensor.Shape),
        Datatypes.Bytes => ToStringTensor((string[])tensor.Data, tensor.Shape),
        _ => throw new ArgumentException($"Tensor '{tensor.Name}' has unknown datatype {tensor.Datatype}.", nameof(tensor)),
    };

    private static OrtValue ToStringTensor(string[] data, long[] shape)
    {
        var value = OrtValue.CreateTensorWithEmptyStrings(OrtAllocator.DefaultInstance, shape);
        for (var i = 0; i < data.Length; i++)
        {
            value.StringTensorSetElementAt(data[i].AsSpan(), i);
        }

        return value;
    }

    private static InferenceTensor FromOrtValue(string name, OrtValue value)
    {
        var info = value.GetTensorTypeAndShape();
        var datatype = Datatypes.FromOnnx(info.ElementDataType)
            ?? throw new InvalidOperationException($"Output '{name}' has element type {info.ElementDataType}, which has no Open Inference Protocol datatype.");
        Array data = datatype switch
        {
            Datatypes.Bool => value.GetTensorDataAsSpan<bool>().ToArray(),
            Datatypes.UInt8 => value.GetTensorDataAsSpan<byte>().ToArray(),
            Datatypes.UInt16 => value.GetTensorDataAsSpan<ushort>().ToArray(),
            Datatypes.UInt32 => value.GetTensorDataAsSpan<uint>().ToArray(),
            Datatypes.UInt64 => value.GetTensorDataAsSpan<ulong>().ToArray(),
            Datatypes.Int8 => value.GetTensorDataAsSpan<sbyte>().ToArray(),
            Datatypes.Int16 => value.GetTensorDataAsSpan<short>().ToArray(),
            Datatypes.Int32 => value.GetTensorDataAsSpan<int>().ToArray(),
            Datatypes.Int64 => value.GetTensorDataAsSpan<long>().ToArray(),
            Datatypes.Fp16 => value.GetTensorDataAsSpan<Float16>().ToArray(),
            Datatypes.Fp32 => value.GetTensorDataAsSpan<float>().ToArray(),
            Datatypes.Fp64 => value.GetTensorDataAsSpan<double>().ToArray(),
            _ => value.GetStringTensorAsArray(),
        };
        return new InferenceTensor(name, datatype, info.Shape, data);
    }
}
