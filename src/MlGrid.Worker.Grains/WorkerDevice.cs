namespace MlGrid.Worker.Grains;

/// <summary>Whether this worker can run models on a GPU (CUDA execution provider), decided once at start.</summary>
public sealed record WorkerDevice(bool HasGpu, string Detail);
