using MlGrid.Hosting.Placement;
using MlGrid.Contracts;
using MlGrid.Inference;

namespace MlGrid.Worker.Grains;

/// <summary>Reads the signature of an uploaded model on a worker, where ONNX Runtime lives.</summary>
[GrainType("mlgrid.model-inspector")]
[WorkerPlacementFilter]
public sealed class ModelInspectorGrain(ModelHost host) : Grain, IModelInspectorGrain
{
    public async Task<ModelSignature> Inspect(string sha256)
    {
        // One activation per inspection: nothing to keep once the answer is given.
        DeactivateOnIdle();
        try
        {
            var (inputs, outputs) = await host.InspectAsync(sha256, CancellationToken.None);
            return new ModelSignature(inputs.Select(ToContract).ToList(), outputs.Select(ToContract).ToList());
        }
        catch (ModelLoadException ex)
        {
            throw RequestException.Invalid(ex.Message);
        }
    }

    private static TensorSignature ToContract(TensorSpec spec) => new(spec.Name, spec.Datatype, spec.Shape);
}
