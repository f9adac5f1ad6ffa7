//! The real media port: `MediaConnector` and `MediaLink` (`media::link`) over webrtc-rs and
//! the v3 signaling gateway, one `MediaSession` per call.

use std::sync::Arc;

use async_trait::async_trait;

use crate::media::audio_bridge::AudioBridge;
use crate::media::link::{
    MediaConnector, MediaError, MediaLink, SessionOwner, Timings, TokenRenewer,
};
use crate::media::peer::IcePolicy;
use crate::media::session::{MediaSession, SignalingGateway};

/// `MediaConnector` over webrtc-rs and the v3 signaling gateway.
pub struct WebRtcMedia {
    pub gateway: SignalingGateway,
    pub audio: Arc<AudioBridge>,
    /// How long a lost signaling socket may take to come back, in milliseconds (the app
    /// can change it at any time; a session takes the value when it joins).
    pub recovery_budget_ms: Arc<std::sync::atomic::AtomicU64>,
}

#[async_trait]
impl MediaConnector for WebRtcMedia {
    async fn join(
        &self,
        token: &str,
        owner: SessionOwner,
        renew: Option<TokenRenewer>,
    ) -> Result<Arc<dyn MediaLink>, MediaError> {
        let host = crate::backend::urls::parse(&self.gateway.url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_default();
        let session = MediaSession::join(
            &self.gateway,
            token,
            IcePolicy::for_signaling_host(&host),
            self.audio.clone(),
            owner,
            std::time::Duration::from_millis(
                self.recovery_budget_ms
                    .load(std::sync::atomic::Ordering::Relaxed),
            ),
            renew,
        )
        .await?;
        let timings = session.timings.clone();
        Ok(Arc::new(WebRtcLink {
            session: tokio::sync::Mutex::new(Some(session)),
            timings,
        }))
    }
}

struct WebRtcLink {
    session: tokio::sync::Mutex<Option<MediaSession>>,
    #[cfg_attr(not(feature = "testing"), allow(dead_code))]
    timings: Arc<std::sync::Mutex<Timings>>,
}

#[async_trait]
impl MediaLink for WebRtcLink {
    async fn leave(&self) {
        let session = self.session.lock().await.take();
        if let Some(s) = session {
            s.leave().await;
        }
    }

    async fn restart_ice(&self) -> Result<(), MediaError> {
        if let Some(s) = self.session.lock().await.as_ref() {
            s.restart_ice().await?;
        }
        Ok(())
    }

    fn timings(&self) -> Option<Timings> {
        Some(crate::sync::lock(&self.timings).clone())
    }
}
