namespace MlGrid.Testing;

/// <summary>
/// A ResNet-50 built in code: the real topology (bottleneck stages of 3, 4, 6 and 3 blocks, about 25.5 million
/// weights, about 4 GFLOPs per 224×224 image) with seeded random weights. Batch-norm is folded into the
/// convolutions' biases, as exporters do for inference. Input "images" FP32 [N,3,224,224], output "logits" [N,1000].
/// </summary>
public static class ResNetModel
{
    public static byte[] Build(int seed = 50)
    {
        var graph = new ResNetGraph(new Random(seed));
        return graph.Build();
    }

    private sealed class ResNetGraph(Random random)
    {
        private readonly OnnxModelBuilder _builder = new("resnet50", opsetVersion: 17);
        private int _next;

        public byte[] Build()
        {
            _builder.Input("images", OnnxType.Float, new OnnxDim[] { OnnxDim.Dynamic("batch"), 3, 224, 224 });
            var x = Conv("images", 3, 64, kernel: 7, stride: 2, relu: true);
            x = Op("MaxPool", [x], OnnxAttribute.Ints("kernel_shape", 3, 3), OnnxAttribute.Ints("strides", 2, 2), OnnxAttribute.Ints("pads", 1, 1, 1, 1));

            var channels = 64;
            foreach (var (mid, blocks, stride) in new[] { (64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2) })
            {
                for (var b = 0; b < blocks; b++)
                {
                    x = Bottleneck(x, channels, mid, b == 0 ? stride : 1);
                    channels = mid * 4;
                }
            }

            x = Op("GlobalAveragePool", [x]);
            x = Op("Flatten", [x], OnnxAttribute.Int("axis", 1));
            var weights = Weights("fc_w", [channels, 1000], channels, 1f);
            var bias = Weights("fc_b", [1000], channels, 0f);
            _builder.Node("Gemm", [x, weights, bias], ["logits"]);
            _builder.Output("logits", OnnxType.Float, new OnnxDim[] { OnnxDim.Dynamic("batch"), 1000 });
            return _builder.Build();
        }

        private string Bottleneck(string input, int inChannels, int mid, int stride)
        {
            var outChannels = mid * 4;
            var y = Conv(input, inChannels, mid, kernel: 1, stride: 1, relu: true);
            y = Conv(y, mid, mid, kernel: 3, stride: stride, relu: true);
            // A small last layer keeps the residual sum finite through 16 blocks of random weights.
            y = Conv(y, mid, outChannels, kernel: 1, stride: 1, relu: false, scale: 0.2f);
            var shortcut = inChannels == outChannels && stride == 1
                ? input
                : Conv(input, inChannels, outChannels, kernel: 1, stride: stride, relu: false);
            return Op("Relu", [Op("Add", [y, shortcut])]);
        }

        private string Conv(string input, int inChannels, int outChannels, int kernel, int stride, bool relu, float scale = 1f)
        {
            var fanIn = inChannels * kernel * kernel;
            var w = Weights($"w{_next}", [outChannels, inChannels, kernel, kernel], fanIn, scale);
            var b = Weights($"b{_next}", [outChannels], fanIn, 0f);
            var pad = kernel / 2;
            var y = Op("Conv", [input, w, b],
                OnnxAttribute.Ints("kernel_shape", kernel, kernel),
                OnnxAttribute.Ints("strides", stride, stride),
                OnnxAttribute.Ints("pads", pad, pad, pad, pad));
            return relu ? Op("Relu", [y]) : y;
        }

        private string Op(string opType, string[] inputs, params OnnxAttribute[] attributes)
        {
            var output = $"t{_next++}";
            _builder.Node(opType, inputs, [output], attributes);
            return output;
        }

        /// <summary>He-uniform weights (zero when <paramref name="scale"/> is 0, used for biases).</summary>
        private string Weights(string name, long[] dims, int fanIn, float scale)
        {
            var count = dims.Aggregate(1L, (a, d) => a * d);
            var values = new float[count];
            if (scale != 0f)
            {
                var limit = MathF.Sqrt(6f / fanIn) * scale;
                for (var i = 0; i < values.Length; i++)
                {
                    values[i] = (float)(random.NextDouble() * 2 - 1) * limit;
                }
            }

            _builder.FloatInitializer(name, dims, values);
            return name;
        }
    }
}
