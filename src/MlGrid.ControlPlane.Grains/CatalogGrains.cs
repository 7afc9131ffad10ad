using MlGrid.Contracts;

namespace MlGrid.ControlPlane.Grains;

[GrainType("mlgrid.model-catalog")]
public sealed class ModelCatalogGrain(
    [PersistentState("state", StorageNames.GrainState)] IPersistentState<CatalogState> state) : Grain, IModelCatalogGrain
{
    public Task Add(string name) => Catalog.AddAsync(state, name);

    public Task<IReadOnlyList<string>> List() => Task.FromResult<IReadOnlyList<string>>([.. state.State.Names]);
}

[GrainType("mlgrid.endpoint-catalog")]
public sealed class EndpointCatalogGrain(
    [PersistentState("state", StorageNames.GrainState)] IPersistentState<CatalogState> state) : Grain, IEndpointCatalogGrain
{
    public Task Add(string name) => Catalog.AddAsync(state, name);

    public async Task Remove(string name)
    {
        if (state.State.Names.Remove(name))
        {
            await state.WriteStateAsync();
        }
    }

    public Task<IReadOnlyList<string>> List() => Task.FromResult<IReadOnlyList<string>>([.. state.State.Names]);
}

internal static class Catalog
{
    public static async Task AddAsync(IPersistentState<CatalogState> state, string name)
    {
        if (state.State.Names.Add(name))
        {
            try
            {
                await state.WriteStateAsync();
            }
            catch
            {
                state.State.Names.Remove(name);
                throw;
            }
        }
    }
}
