namespace MlGrid.Inference;

/// <summary>Checks a request against what a model declares before anything reaches ONNX Runtime.</summary>
public static class SignatureValidator
{
    /// <summary>Throws an <see cref="InferenceInputException"/> naming the first mismatch between the request and the model.</summary>
    public static void Validate(InferenceRequest request, IReadOnlyList<TensorSpec> inputs, IReadOnlyList<TensorSpec> outputs)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var tensor in request.Inputs)
        {
            if (!seen.Add(tensor.Name))
            {
                throw new InferenceInputException($"Input '{tensor.Name}' is given more than once.");
            }

            var spec = inputs.FirstOrDefault(s => s.Name == tensor.Name)
                ?? throw new InferenceInputException(
                    $"Unknown input '{tensor.Name}'; the model's inputs are {Describe(inputs)}.");

            if (tensor.Datatype != spec.Datatype)
            {
                throw new InferenceInputException(
                    $"Input '{tensor.Name}' has datatype {tensor.Datatype} but the model expects {spec.Datatype}.");
            }

            if (!Fits(tensor.Shape, spec.Shape))
            {
                throw new InferenceInputException(
                    $"Input '{tensor.Name}' has shape {Shapes.Format(tensor.Shape)} but the model expects {spec.ShapeText} (-1 is any size).");
            }
        }

        var missing = inputs.Where(s => !seen.Contains(s.Name)).Select(s => s.Name).ToList();
        if (missing.Count > 0)
        {
            throw new InferenceInputException(
                $"Missing input{(missing.Count > 1 ? "s" : "")} {string.Join(", ", missing.Select(n => $"'{n}'"))}; the model's inputs are {Describe(inputs)}.");
        }

        if (request.Outputs is { } requested)
        {
            if (requested.Distinct(StringComparer.Ordinal).Count() != requested.Count)
            {
                throw new InferenceInputException("An output is requested more than once.");
            }

            foreach (var name in requested)
            {
                if (!outputs.Any(o => o.Name == name))
                {
                    throw new InferenceInputException(
                        $"Unknown output '{name}'; the model's outputs are {string.Join(", ", outputs.Select(o => $"'{o.Name}'"))}.");
                }
            }
        }
    }

    /// <summary>True when <paramref name="shape"/> has the declared rank and every fixed dimension matches.</summary>
    public static bool Fits(IReadOnlyList<long> shape, IReadOnlyList<long> declared)
    {
        if (shape.Count != declared.Count)
        {
            return false;
        }

        for (var i = 0; i < shape.Count; i++)
        {
            if (declared[i] >= 0 && declared[i] != shape[i])
            {
                return false;
            }
        }

        return true;
    }

    private static string Describe(IReadOnlyList<TensorSpec> specs) =>
        string.Join(", ", specs.Select(s => $"'{s.Name}' {s.Datatype} {s.ShapeText}"));
}
