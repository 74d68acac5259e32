// Placeholder until this backend's issue lands.
export {};
