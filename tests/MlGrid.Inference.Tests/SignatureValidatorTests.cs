namespace MlGrid.Inference.Tests;

public sealed class SignatureValidatorTests
{
    private static readonly TensorSpec[] Inputs =
    [
        new("features", Datatypes.Fp32, [-1, 3]),
        new("mask", Datatypes.Int64, [2]),
    ];

    private static readonly TensorSpec[] Outputs =
    [
        new("scores", Datatypes.Fp32, [-1, 2]),
        new("label", Datatypes.Int64, [-1]),
    ];

    [Fact]
    public void Validate_accepts_a_request_that_matches_the_signature()
    {
        var request = Request(Features([2, 3]), Mask([2]));

        SignatureValidator.Validate(request with { Outputs = ["label", "scores"] }, Inputs, Outputs);
        SignatureValidator.Validate(request, Inputs, Outputs);
    }

    [Fact]
    public void Validate_accepts_inputs_in_any_order()
    {
        SignatureValidator.Validate(Request(Mask([2]), Features([1, 3])), Inputs, Outputs);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(1000)]
    public void Validate_accepts_any_size_in_a_dynamic_dimension(long rows)
    {
        SignatureValidator.Validate(Request(Features([rows, 3]), Mask([2])), Inputs, Outputs);
    }

    [Fact]
    public void Validate_rejects_unknown_input_and_lists_the_models_inputs()
    {
        var request = Request(Features([1, 3]), Mask([2]), new InferenceTensor("extra", Datatypes.Fp32, [1], new float[1]));

        var ex = Assert.Throws<InferenceInputException>(() => SignatureValidator.Validate(request, Inputs, Outputs));

        Assert.Contains("'extra'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("'features'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("'mask'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_rejects_missing_input_naming_it()
    {
        var ex = Assert.Throws<InferenceInputException>(() => SignatureValidator.Validate(Request(Features([1, 3])), Inputs, Outputs));

        Assert.Contains("Missing", ex.Message, StringComparison.Ordinal);
        Assert.Contains("'mask'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_rejects_request_with_no_inputs_naming_all_missing()
    {
        var ex = Assert.Throws<InferenceInputException>(() => SignatureValidator.Validate(Request(), Inputs, Outputs));

        Assert.Contains("'features', 'mask'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_rejects_duplicate_input()
    {
        var request = Request(Features([1, 3]), Mask([2]), Features([1, 3]));

        var ex = Assert.Throws<InferenceInputException>(() => SignatureValidator.Validate(request, Inputs, Outputs));

        Assert.Contains("'features'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("more than once", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_rejects_wrong_datatype_naming_both()
    {
        var request = Request(new InferenceTensor("features", Datatypes.Fp64, [1, 3], new double[3]), Mask([2]));

        var ex = Assert.Throws<InferenceInputException>(() => SignatureValidator.Validate(request, Inputs, Outputs));

        Assert.Contains("'features'", ex.Message, StringComparison.Ordinal);
        Assert.Contains(Datatypes.Fp64, ex.Message, StringComparison.Ordinal);
        Assert.Contains(Datatypes.Fp32, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new long[] { 3 })]
    [InlineData(new long[] { 1, 1, 3 })]
    [InlineData(new long[] { })]
    public void Validate_rejects_wrong_rank(long[] shape)
    {
        var ex = Assert.Throws<InferenceInputException>(() =>
            SignatureValidator.Validate(Request(Features(shape), Mask([2])), Inputs, Outputs));

        Assert.Contains("'features'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("[-1,3]", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("features", new long[] { 2, 4 })]
    [InlineData("mask", new long[] { 3 })]
    [InlineData("mask", new long[] { 0 })]
    public void Validate_rejects_fixed_dimension_mismatch(string name, long[] shape)
    {
        var request = name == "features" ? Request(Features(shape), Mask([2])) : Request(Features([1, 3]), Mask(shape));

        var ex = Assert.Throws<InferenceInputException>(() => SignatureValidator.Validate(request, Inputs, Outputs));

        Assert.Contains($"'{name}'", ex.Message, StringComparison.Ordinal);
        Assert.Contains(Shapes.Format(shape), ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_rejects_unknown_requested_output_and_lists_the_models_outputs()
    {
        var request = Request(Features([1, 3]), Mask([2])) with { Outputs = ["scores", "probabilities"] };

        var ex = Assert.Throws<InferenceInputException>(() => SignatureValidator.Validate(request, Inputs, Outputs));

        Assert.Contains("'probabilities'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("'scores'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("'label'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_rejects_output_requested_twice()
    {
        var request = Request(Features([1, 3]), Mask([2])) with { Outputs = ["scores", "scores"] };

        Assert.Throws<InferenceInputException>(() => SignatureValidator.Validate(request, Inputs, Outputs));
    }

    [Fact]
    public void Validate_is_case_sensitive_about_names()
    {
        var request = Request(new InferenceTensor("Features", Datatypes.Fp32, [1, 3], new float[3]), Mask([2]));

        Assert.Throws<InferenceInputException>(() => SignatureValidator.Validate(request, Inputs, Outputs));
    }

    [Theory]
    [InlineData(new long[] { 5, 3 }, new long[] { -1, 3 }, true)]
    [InlineData(new long[] { 5, 3 }, new long[] { -1, -1 }, true)]
    [InlineData(new long[] { }, new long[] { }, true)]
    [InlineData(new long[] { 5, 4 }, new long[] { -1, 3 }, false)]
    [InlineData(new long[] { 5 }, new long[] { -1, 3 }, false)]
    [InlineData(new long[] { 1, 4 }, new long[] { 1, 4 }, true)]
    [InlineData(new long[] { 2, 4 }, new long[] { 1, 4 }, false)]
    public void Fits_checks_rank_and_fixed_dimensions(long[] shape, long[] declared, bool fits)
    {
        Assert.Equal(fits, SignatureValidator.Fits(shape, declared));
    }

    private static InferenceRequest Request(params InferenceTensor[] inputs) => new(null, inputs, null);

    private static InferenceTensor Features(long[] shape) =>
        new("features", Datatypes.Fp32, shape, new float[shape.Aggregate(1L, (a, d) => a * d)]);

    private static InferenceTensor Mask(long[] shape) =>
        new("mask", Datatypes.Int64, shape, new long[shape.Aggregate(1L, (a, d) => a * d)]);
}
